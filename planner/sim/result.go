package sim

import (
	"math"
	"time"
)

// Result is what one run produced.
type Result struct {
	// Requests is every request of the workload except those filtered out as over-context.
	Requests int
	// Met counts requests whose TTFT and mean ITL both met the SLO; Attainment is Met/Requests.
	Met        int
	Attainment float64
	// Rejected counts over-context requests (counted as misses); Filtered those dropped instead.
	Rejected, Filtered int
	// GPUHours charges every replica from its request until it is released (starting and
	// draining replicas included).
	GPUHours float64
	// TTFT and ITL are percentiles over served requests (ITL: each request's mean), seconds.
	TTFT, ITL Percentiles
	// ScaleEvents counts changes of any service's desired replicas.
	ScaleEvents int
	// Aborted is true when the run stopped at Options.AbortAfterMisses; the numbers are partial.
	Aborted bool
	// Unfinished counts requests still in flight when the run ended (0 unless Aborted).
	Unfinished int
	// Misses counts the misses by cause; MissesByHour by cause and hour of arrival (index 0 is
	// the workload's first hour).
	Misses       Misses
	MissesByHour []Misses
	// Services is each service's GPU-hours and scale events, in deployment order.
	Services []ServiceResult
	// Simulated is how much simulated time the run covered.
	Simulated time.Duration
	Series    Series
}

// Percentiles are the 50th, 90th and 99th percentiles of a latency, seconds.
type Percentiles struct {
	P50, P90, P99 float64
}

// Series is the run over time at Step resolution; every slice has one point per step, stamped
// with the step's end (seconds from the workload's start).
type Series struct {
	Step time.Duration
	Time []float64
	// RequestRate is arrivals per second.
	RequestRate []float64
	// PrefillLoad is input tokens arriving per second; PrefillCapacity what the ready prefill
	// engines could prefill per second at the step's mean input length.
	PrefillLoad, PrefillCapacity []float64
	// DecodeLoad is output tokens completed per second; DecodeCapacity what the ready decode
	// engines could generate within the ITL target (the profile's best throughput under it).
	DecodeLoad, DecodeCapacity []float64
	GPUs                       []float64
	// Attainment is the share of the requests judged (finished or rejected) in the step that met
	// the SLO; NaN where none was judged.
	Attainment []float64
	// Judged is the number of requests judged in the step.
	Judged    []float64
	TTFT, ITL PercentileSeries
	Services  []ServiceSeries
}

// PercentileSeries holds latency percentiles per step, seconds; NaN where no sample fell.
type PercentileSeries struct {
	P50, P90, P99 []float64
}

// ServiceSeries is one service's desired and ready replicas per step.
type ServiceSeries struct {
	Name           string
	Desired, Ready []float64
}

// record appends the step ending at t to the series.
func (o *observer) record(t float64) {
	w, b, s := o.w, &o.step, &o.series
	s.Time = append(s.Time, t)
	s.RequestRate = append(s.RequestRate, float64(b.arrivals)/o.stepS)
	s.PrefillLoad = append(s.PrefillLoad, b.prefillToken/o.stepS)
	s.DecodeLoad = append(s.DecodeLoad, b.outSum/o.stepS)
	isl, osl := 3000.0, 150.0
	if b.arrivals > 0 {
		isl = b.inSum / float64(b.arrivals)
	}
	if b.done > 0 {
		osl = b.outSum / float64(b.done)
	}
	_, preReady := w.counts(w.pre)
	_, decReady := w.counts(w.dec)
	m := w.d.Model
	s.PrefillCapacity = append(s.PrefillCapacity, float64(preReady)*prefillCapacity(m, isl, w.d.PrefillTokenBudget))
	thpt, _ := m.BestDecodeThroughput(w.d.ITL.Seconds(), isl+osl/2)
	s.DecodeCapacity = append(s.DecodeCapacity, float64(decReady)*thpt*float64(w.svcs[w.dec].cfg.GPUsPerReplica))
	s.GPUs = append(s.GPUs, w.gpus)
	att, judged := w.acct.takeStep()
	s.Attainment = append(s.Attainment, att)
	s.Judged = append(s.Judged, float64(judged))
	appendQuantiles(&s.TTFT, &b.ttftH)
	appendQuantiles(&s.ITL, &b.itlH)
	for i := range w.svcs {
		_, ready := w.counts(i)
		s.Services[i].Desired = append(s.Services[i].Desired, float64(w.svcs[i].desired))
		s.Services[i].Ready = append(s.Services[i].Ready, float64(ready))
	}
}

// prefillCapacity is one engine's saturated prefill throughput (tokens/s) for requests of isl
// input tokens: full batches under the token budget, back to back.
func prefillCapacity(m *Model, isl float64, budget int) float64 {
	isl = max(isl, 1)
	k := max(math.Floor(float64(budget)/isl), 1)
	return k * isl / m.PrefillSeconds(k*isl)
}

// PrefillCapacity is one engine's saturated prefill throughput in tokens/s for requests of isl
// input tokens, batched under the deployment's token budget.
func (d Deployment) PrefillCapacity(isl float64) float64 {
	return prefillCapacity(d.Model, isl, d.PrefillTokenBudget)
}

func appendQuantiles(p *PercentileSeries, h *hist) {
	for _, x := range []struct {
		q   float64
		dst *[]float64
	}{{0.5, &p.P50}, {0.9, &p.P90}, {0.99, &p.P99}} {
		v, ok := h.quantile(x.q)
		if !ok {
			v = math.NaN()
		}
		*x.dst = append(*x.dst, v)
	}
}

// result summarises the run.
func (w *world) result(wl Workload) Result {
	r := Result{Requests: len(wl.Requests) - w.filtered, Met: w.met, Rejected: w.rejected,
		Filtered: w.filtered, GPUHours: w.gpuSeconds / 3600, ScaleEvents: w.scaleEvents,
		Aborted: w.aborted, Unfinished: w.infl, Simulated: time.Duration(w.t * float64(time.Second)), Series: w.obs.series}
	if r.Requests > 0 {
		r.Attainment = float64(w.met) / float64(r.Requests)
	}
	w.acct.fill(&r, w.svcs)
	r.TTFT = percentiles(w.first)
	r.ITL = percentiles(w.itl)
	return r
}

// percentiles returns exact nearest-rank percentiles of the non-NaN values (by selection, not a
// full sort: a day holds millions of requests).
func percentiles(xs []float32) Percentiles {
	v := make([]float32, 0, len(xs))
	for _, x := range xs {
		if x == x {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return Percentiles{}
	}
	rank := func(q float64) int { return min(max(int(math.Ceil(q*float64(len(v))))-1, 0), len(v)-1) }
	r50, r90, r99 := rank(0.5), rank(0.9), rank(0.99)
	// Select in increasing rank order: each selection leaves larger ranks to its right.
	p50 := float64(nth(v, r50))
	p90 := float64(nth(v[r50:], r90-r50))
	p99 := float64(nth(v[r90:], r99-r90))
	return Percentiles{P50: p50, P90: p90, P99: p99}
}

// nth partially orders v so v[k] is its k-th smallest value (Hoare's quickselect with a
// median-of-three pivot, deterministic) and returns it. Everything left of k is <= v[k] and
// everything right of it >= v[k].
func nth(v []float32, k int) float32 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		pivot := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}
