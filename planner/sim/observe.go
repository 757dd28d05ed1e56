package sim

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// hist is a log-spaced latency histogram (6% wide buckets from 0.1 ms to about 2 min), the
// simulated counterpart of a Prometheus histogram: windowed percentiles come from merged buckets.
type hist [histBuckets]uint32

const (
	histBuckets = 240
	histMin     = 1e-4
	// histLogRatio is math.Log(1.06), the log width of one bucket.
	histLogRatio = 0.058268908123975824
)

func (h *hist) add(x float64) {
	i := 0
	if x > histMin {
		i = min(int(math.Log(x/histMin)/histLogRatio)+1, histBuckets-1)
	}
	h[i]++
}

func (h *hist) merge(o *hist) {
	for i, c := range o {
		h[i] += c
	}
}

// quantile returns the q-quantile (0..1), the geometric middle of its bucket; false if empty.
func (h *hist) quantile(q float64) (float64, bool) {
	var n uint64
	for _, c := range h {
		n += uint64(c)
	}
	if n == 0 {
		return 0, false
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var cum uint64
	for i, c := range h {
		cum += uint64(c)
		if cum >= max(rank, 1) {
			if i == 0 {
				return histMin, true
			}
			return histMin * math.Exp((float64(i)-0.5)*histLogRatio), true
		}
	}
	return histMin * math.Exp(float64(histBuckets)*histLogRatio), true
}

// bucket is what the frontend's counters and histograms gained over one scrape interval.
type bucket struct {
	arrivals     int
	inSum        float64
	dtSum, dt2   float64
	dtN          int
	done         int
	outSum       float64
	ttftN, itlN  int
	ttftS, itlS  float64
	ttftH, itlH  hist
	inH, outH    hist // token lengths x tokenScale
	prefillToken float64
}

// tokenScale maps token counts into the latency histogram's range (1 token -> 1 ms).
const tokenScale = 1e-3

func (b *bucket) merge(o *bucket) {
	b.arrivals += o.arrivals
	b.inSum += o.inSum
	b.dtSum += o.dtSum
	b.dt2 += o.dt2
	b.dtN += o.dtN
	b.done += o.done
	b.outSum += o.outSum
	b.ttftN += o.ttftN
	b.itlN += o.itlN
	b.ttftS += o.ttftS
	b.itlS += o.itlS
	b.ttftH.merge(&o.ttftH)
	b.itlH.merge(&o.itlH)
	b.inH.merge(&o.inH)
	b.outH.merge(&o.outH)
	b.prefillToken += o.prefillToken
}

// observer turns the world's events into what Prometheus would show: per-scrape buckets in a ring
// covering the autoscaler's window, and the run's time series at SeriesStep resolution.
type observer struct {
	w           *world
	scrapeS     float64
	ring        []bucket
	pos, filled int
	cur         bucket
	step        bucket
	stepS       float64
	nextStep    float64
	lastArrival float64
	series      Series
}

func newObserver(w *world, opt Options, window time.Duration) observer {
	scrape := opt.ScrapeInterval.Seconds()
	n := max(int(math.Ceil(window.Seconds()/scrape-1e-9)), 1)
	o := observer{w: w, scrapeS: scrape, ring: make([]bucket, n), stepS: opt.SeriesStep.Seconds(),
		lastArrival: math.NaN()}
	o.nextStep = o.stepS
	o.series.Step = opt.SeriesStep
	for _, s := range w.svcs {
		o.series.Services = append(o.series.Services, ServiceSeries{Name: s.cfg.Name})
	}
	return o
}

func (o *observer) arrival(t float64, r Request) {
	o.cur.arrivals++
	o.cur.inSum += float64(r.InputTokens)
	o.cur.inH.add(float64(r.InputTokens) * tokenScale)
	o.cur.prefillToken += float64(r.InputTokens)
	if !math.IsNaN(o.lastArrival) {
		dt := t - o.lastArrival
		o.cur.dtSum += dt
		o.cur.dt2 += dt * dt
		o.cur.dtN++
	}
	o.lastArrival = t
}

func (o *observer) firstToken(ttft float64) {
	o.cur.ttftN++
	o.cur.ttftS += ttft
	o.cur.ttftH.add(ttft)
}

func (o *observer) completion(_, itl float64, r Request) {
	o.cur.done++
	o.cur.outSum += float64(r.OutputTokens)
	o.cur.outH.add(float64(r.OutputTokens) * tokenScale)
	if r.OutputTokens > 1 {
		o.cur.itlN++
		o.cur.itlS += itl
		o.cur.itlH.add(itl)
	}
}

// scrape closes the current interval into the ring and, on step boundaries, records the series.
func (o *observer) scrape(t float64) {
	o.step.merge(&o.cur)
	o.ring[o.pos] = o.cur
	o.pos = (o.pos + 1) % len(o.ring)
	o.filled = min(o.filled+1, len(o.ring))
	o.cur = bucket{}
	if t >= o.nextStep-1e-9 {
		o.record(t)
		o.step = bucket{}
		o.nextStep += o.stepS
	}
}

// window merges the ring: what the windowed queries see.
func (o *observer) window() bucket {
	var b bucket
	for i := range o.filled {
		b.merge(&o.ring[(o.pos-1-i+2*len(o.ring))%len(o.ring)])
	}
	return b
}

// observations is the planner's view at t: windowed rates, means and percentiles, and gauges.
func (o *observer) observations(t float64, now time.Time) planner.Observations {
	b := o.window()
	win := min(float64(o.filled)*o.scrapeS, t)
	ob := planner.Observations{Time: now, Window: time.Duration(win * float64(time.Second))}
	ob.RequestRate = ratio(float64(b.arrivals), win, "no time observed")
	ob.InputTokens = ratio(b.inSum, float64(b.arrivals), "no requests in window")
	ob.OutputTokens = ratio(b.outSum, float64(b.done), "no completed requests in window")
	ob.TTFT = ratio(b.ttftS, float64(b.ttftN), "no first tokens in window")
	ob.ITL = ratio(b.itlS, float64(b.itlN), "no completed requests in window")
	ob.TTFTPercentile = quantileValue(&b.ttftH, o.w.d.TTFTPercentile/100)
	ob.ITLPercentile = quantileValue(&b.itlH, o.w.d.ITLPercentile/100)
	ob.InputTokensPercentile = scaledValue(quantileValue(&b.inH, o.w.d.TTFTPercentile/100), 1/tokenScale)
	ob.OutputTokensPercentile = scaledValue(quantileValue(&b.outH, o.w.d.ITLPercentile/100), 1/tokenScale)
	ob.QueueDepth = planner.Known(float64(o.w.queueDepth))
	ob.Inflight = planner.Known(float64(o.w.infl))
	ob.ArrivalCV = planner.Unknown("fewer than 2 inter-arrival times in window")
	if b.dtN >= 2 {
		mean := b.dtSum / float64(b.dtN)
		v := max(b.dt2/float64(b.dtN)-mean*mean, 0)
		ob.ArrivalCV = ratio(math.Sqrt(v), mean, "zero mean inter-arrival time")
	}
	var kvSum, kvN float64
	for i := range o.w.svcs {
		so := o.service(i, t)
		if so.KVUsage.OK {
			kvSum += so.KVUsage.V
			kvN++
		}
		ob.Services = append(ob.Services, so)
	}
	ob.KVUsage = ratio(kvSum, kvN, "no decode workers")
	return ob
}

// service is the cluster's and the workers' view of service i at t.
func (o *observer) service(i int, t float64) planner.ServiceObservation {
	w := o.w
	s := w.svcs[i]
	_, ready := w.counts(i)
	so := planner.ServiceObservation{Name: s.cfg.Name, Desired: int32(s.desired), Ready: int32(ready),
		ReplicasKnown: true, GPUsPerReplica: int32(s.cfg.GPUsPerReplica)}
	var kv, active, n float64
	for _, id := range s.engines {
		e := w.engines[id]
		if e.state == stateStarting {
			continue
		}
		n++
		k := e.kvAt(t)
		kv += k / w.d.Model.MaxKVTokens()
		if s.cfg.Role == policies.RolePrefill {
			active += e.prefillLoad()
		} else {
			active += k / KVBlockSize
		}
	}
	if n == 0 {
		so.KVUsage, so.ActiveTokens = planner.Unknown("no serving workers"), planner.Unknown("no serving workers")
		return so
	}
	so.ActiveTokens = planner.Known(active / n)
	so.KVUsage = planner.Unknown("prefill workers hold no KV cache between requests")
	if s.cfg.Role != policies.RolePrefill {
		so.KVUsage = planner.Known(kv / n)
	}
	return so
}

// kvAt is the KV tokens the running batch holds at t (t >= lastT), without advancing the engine.
func (e *engine) kvAt(t float64) float64 {
	n := float64(e.active.len())
	if n == 0 {
		return 0
	}
	it := e.iter
	if !e.paused && e.itl > 0 {
		it += (t - e.lastT) / e.itl
	}
	return e.sumIn + n*it - e.sumAdmit
}

func ratio(num, den float64, missing string) planner.Value {
	if den <= 0 {
		return planner.Unknown(missing)
	}
	return planner.Known(num / den)
}

func scaledValue(v planner.Value, k float64) planner.Value {
	if v.OK {
		v.V *= k
	}
	return v
}

func quantileValue(h *hist, q float64) planner.Value {
	v, ok := h.quantile(q)
	if !ok {
		return planner.Unknown("no samples in window")
	}
	return planner.Known(v)
}
