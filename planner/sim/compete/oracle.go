package compete

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/policies"
)

// Oracle knows the future arrivals. Every Interval it sets each service to the most replicas any
// Bin of the coming [now, now + startup + Interval] needs, so replicas are requested one startup
// time before the load they serve and released only when no load needing them arrives before a
// replacement could start. A bin's need is its true work over the capacity of one engine (the
// simulator's own model) at a utilisation cap:
//
//	prefill = max over runs of 1..64 bins from the bin: input tokens of the run /
//	          ((run length + TTFT target / 2) x saturated prefill throughput at its mean ISL x PrefillUtil)
//	decode  = output tokens/s over 10 s / (best decode throughput under the ITL target at
//	          ISL + OSL/2 x GPUs x DecodeUtil)
//
// An aggregated engine carries the sum. It is the lower reference: a planner with a perfect
// forecast and the same capacity model.
type Oracle struct {
	d        sim.Deployment
	interval time.Duration
	bin      float64
	need     [][]float64 // per service, per bin
	epoch    time.Time
}

// OracleOptions tune the oracle; zero fields take the defaults noted.
type OracleOptions struct {
	Interval    time.Duration // 30 s
	Bin         time.Duration // 1 s
	PrefillUtil float64       // 0.85
	DecodeUtil  float64       // 0.9
	// Epoch is the run's sim.Options.Epoch: the oracle reads the future from now - Epoch.
	Epoch time.Time
}

// NewOracle prepares the oracle's per-bin needs from the whole workload.
func NewOracle(d sim.Deployment, wl sim.Workload, o OracleOptions) *Oracle {
	if o.Interval <= 0 {
		o.Interval = 30 * time.Second
	}
	if o.Bin <= 0 {
		o.Bin = time.Second
	}
	if o.PrefillUtil <= 0 {
		o.PrefillUtil = 0.85
	}
	if o.DecodeUtil <= 0 {
		o.DecodeUtil = 0.9
	}
	or := &Oracle{d: d, interval: o.Interval, bin: o.Bin.Seconds(), epoch: o.Epoch}
	pre, dec := binNeeds(d, wl, or.bin, o)
	for _, svc := range d.Services {
		n := make([]float64, len(pre))
		for i := range n {
			switch svc.Role {
			case policies.RolePrefill:
				n[i] = pre[i]
			case policies.RoleDecode:
				n[i] = dec[i] / float64(svc.GPUsPerReplica)
			default:
				n[i] = pre[i] + dec[i]/float64(svc.GPUsPerReplica)
			}
		}
		or.need = append(or.need, n)
	}
	return or
}

// binNeeds returns per bin the prefill engines and the decode GPUs the arrivals need.
//
// Prefill is queue-aware: the input tokens arriving in any run of bins starting at a bin (1, 2,
// 4, ... 64 bins long) must be prefilled within that run plus half the TTFT target, so a burst
// shorter than a bin's sum is still provisioned for. Decode is sized on its throughput over
// decodeSpan-long spans (decode work is smooth: a request decodes for seconds).
func binNeeds(d sim.Deployment, wl sim.Workload, bin float64, o OracleOptions) (pre, dec []float64) {
	n := int(math.Ceil(wl.Duration.Seconds()/bin)) + 1
	if k := len(wl.Requests); k > 0 {
		n = max(n, int(wl.Requests[k-1].Arrival.Seconds()/bin)+1)
	}
	in, out, cnt := make([]float64, n), make([]float64, n), make([]float64, n)
	for _, r := range wl.Requests {
		if r.InputTokens+r.OutputTokens > d.MaxContext {
			continue
		}
		i := int(r.Arrival.Seconds() / bin)
		in[i] += float64(r.InputTokens)
		out[i] += float64(r.OutputTokens)
		cnt[i]++
	}
	return prefillNeeds(d, in, cnt, bin, o), decodeNeeds(d, in, out, cnt, bin, o)
}

func prefillNeeds(d sim.Deployment, in, cnt []float64, bin float64, o OracleOptions) []float64 {
	n := len(in)
	slack := d.TTFT.Seconds() / 2
	pre := make([]float64, n)
	for b := range n {
		var tok, c float64
		for w, next := 0, 1; b+w < n && w < 64; w++ {
			tok += in[b+w]
			c += cnt[b+w]
			if w+1 != next {
				continue
			}
			next *= 2
			if c == 0 {
				continue
			}
			capacity := d.PrefillCapacity(tok/c) * o.PrefillUtil
			pre[b] = max(pre[b], tok/((float64(w+1)*bin+slack)*capacity))
		}
	}
	return pre
}

// decodeSpan is the span decode needs are averaged over.
const decodeSpan = 10.0

func decodeNeeds(d sim.Deployment, in, out, cnt []float64, bin float64, o OracleOptions) []float64 {
	n := len(in)
	k := max(int(decodeSpan/bin), 1)
	dec := make([]float64, n)
	for start := 0; start < n; start += k {
		var i, u, c float64
		for b := start; b < min(start+k, n); b++ {
			i, u, c = i+in[b], u+out[b], c+cnt[b]
		}
		if c == 0 {
			continue
		}
		thpt, _ := d.Model.BestDecodeThroughput(d.ITL.Seconds(), i/c+u/c/2)
		need := u / (float64(k) * bin) / (thpt * o.DecodeUtil)
		for b := start; b < min(start+k, n); b++ {
			dec[b] = need
		}
	}
	return dec
}

// Cadence implements sim.Autoscaler.
func (o *Oracle) Cadence() sim.Cadence { return sim.Cadence{Interval: o.interval, Window: o.interval} }

// Scale implements sim.Autoscaler; it ignores the observations and reads the future.
func (o *Oracle) Scale(now time.Time, _ planner.Observations) map[string]int32 {
	return o.At(now.Sub(o.epoch).Seconds())
}

// At returns the desired replicas for a decision at t seconds from the workload's start.
func (o *Oracle) At(t float64) map[string]int32 {
	out := map[string]int32{}
	for i, svc := range o.d.Services {
		end := t + svc.StartupTime.Seconds() + o.interval.Seconds()
		lo, hi := int(t/o.bin), min(int(math.Ceil(end/o.bin)), len(o.need[i]))
		best := 0.0
		for b := max(lo, 0); b < hi; b++ {
			best = max(best, o.need[i][b])
		}
		out[svc.Name] = clampReplicas(math.Ceil(best-1e-9), svc)
	}
	return out
}

// Peak returns the most replicas each service needs at any time of the workload.
func (o *Oracle) Peak() map[string]int32 {
	out := map[string]int32{}
	for i, svc := range o.d.Services {
		best := 0.0
		for _, n := range o.need[i] {
			best = max(best, n)
		}
		out[svc.Name] = clampReplicas(math.Ceil(best-1e-9), svc)
	}
	return out
}
