package sim

import (
	"math"
	"slices"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/burst"
	"github.com/tidal-planner/tidal/policies"
)

// hist is a log-spaced latency histogram (6% wide buckets from 0.1 ms to about 2 min) for the
// run's own series (the report's latency percentiles over time: the truth, not what a planner
// sees).
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

// bucket is what happened over one series step (the report's truth).
type bucket struct {
	arrivals     int
	inSum        float64
	done         int
	outSum       float64
	ttftH, itlH  hist
	prefillToken float64
}

func (b *bucket) merge(o *bucket) {
	b.arrivals += o.arrivals
	b.inSum += o.inSum
	b.done += o.done
	b.outSum += o.outSum
	b.ttftH.merge(&o.ttftH)
	b.itlH.merge(&o.itlH)
	b.prefillToken += o.prefillToken
}

// scrapeDelta is what the frontend's histograms gained between two scrapes, in Dynamo's default
// buckets (see dynamoLayouts).
type scrapeDelta struct {
	ttft, itl, isl, osl promHist
}

func (d *scrapeDelta) merge(o *scrapeDelta) {
	d.ttft.merge(&o.ttft)
	d.itl.merge(&o.itl)
	d.isl.merge(&o.isl)
	d.osl.merge(&o.osl)
}

// gauges is one scrape of the gauges: the frontend's queued and inflight requests and each
// service's workers (KV usage and active tokens, averaged over its serving workers).
type gauges struct {
	queued, inflight float64
	kv, active       []planner.Value
}

// scrapeLag is how long after its tick a scrape is stamped: the planner's query at the tick lands
// just before it, so it sees the previous scrape.
const scrapeLag = time.Millisecond

// observer turns the world's events into what the live metrics adapter would compute from
// Prometheus (see docs/simulate.md, "The simulated world"):
//
//   - dynamo_frontend_requests_total is a counter incremented when a request completes or is
//     rejected (Dynamo counts it when the request's guard drops, with a status label), scraped
//     every ScrapeInterval; the request rate is PromQL's rate() of its samples over the window
//     and the arrival CV is planner/burst's estimator on the same samples: the live adapter's
//     code and expression;
//   - TTFT, ITL (one observation per generated token after the first, at the request's mean
//     gap), input and output lengths are histograms in Dynamo's default buckets; means come from
//     their _sum/_count, percentiles from histogram_quantile over the window's buckets, and the
//     attainment signals (TTFTAttained, ITLAttained) from the same buckets interpolated at the
//     SLO targets, as the metrics adapter computes them;
//   - gauges (queued, inflight, KV usage, active tokens) are as of a scrape, except KV usage for
//     an autoscaler whose Cadence asks for it over the window (KVOverWindow): the mean of the
//     window's scrapes, as avg_over_time reads them (of the service's mean over its workers at
//     each scrape, where Prometheus averages each worker's series: the same while the workers
//     stay);
//   - the planner's query lands just before the scrape of its tick, so everything it sees is as
//     of the previous scrape, one interval old (live: between zero and one interval);
//   - replica counts are the DGD status' (desired, and ready = serving, not starting or
//     draining), read at the decision itself, as the cluster reader does.
type observer struct {
	w       *world
	scrapeS float64
	epoch   float64 // Unix seconds of the world's t = 0 (the estimator's steps align to it)
	bounds  layouts
	window  float64 // the autoscaler's metrics window, s

	ring        []scrapeDelta // per-scrape deltas, newest at pos-1
	pos, filled int
	cur         scrapeDelta
	completed   float64        // requests_total, cumulative
	samples     []burst.Sample // requests_total at each scrape
	keep        float64        // how far back samples are kept, s
	last, prev  gauges         // the newest scrape's gauges and the one before
	// kvRing holds each scrape's per-service KV usage beside ring (same slots, newest at pos-1);
	// nil unless the cadence reads KV usage over the window (KVOverWindow).
	kvRing [][]planner.Value

	step     bucket
	tcur     bucket
	stepS    float64
	nextStep float64
	series   Series
}

func newObserver(w *world, opt Options, cad Cadence) observer {
	window := cad.Window
	scrape := opt.ScrapeInterval.Seconds()
	n := max(int(math.Ceil(window.Seconds()/scrape-1e-9)), 1)
	cvRange := max(burst.DefaultRange, window).Seconds()
	o := observer{w: w, scrapeS: scrape, epoch: float64(opt.Epoch.Unix()), bounds: dynamoLayouts(),
		window: window.Seconds(), ring: make([]scrapeDelta, n+1), stepS: opt.SeriesStep.Seconds(),
		keep: cvRange + 3*burst.DefaultStep.Seconds() + window.Seconds() + 2*scrape}
	if opt.Epoch.IsZero() {
		o.epoch = 0
	}
	o.nextStep = o.stepS
	if cad.KVOverWindow {
		o.kvRing = make([][]planner.Value, len(o.ring))
	}
	o.series.Step = opt.SeriesStep
	for _, s := range w.svcs {
		o.series.Services = append(o.series.Services, ServiceSeries{Name: s.cfg.Name})
	}
	return o
}

// clone returns a deep copy of the observer for a forked world.
func (o observer) clone(w *world) observer {
	c := o
	c.w = w
	c.ring = slices.Clone(o.ring)
	c.samples = slices.Clone(o.samples)
	c.last.kv, c.last.active = slices.Clone(o.last.kv), slices.Clone(o.last.active)
	c.prev.kv, c.prev.active = slices.Clone(o.prev.kv), slices.Clone(o.prev.active)
	if o.kvRing != nil {
		c.kvRing = make([][]planner.Value, len(o.kvRing))
		for i, h := range o.kvRing {
			c.kvRing[i] = slices.Clone(h)
		}
	}
	return c
}

func (o *observer) arrival(_ float64, r Request) {
	o.tcur.arrivals++
	o.tcur.inSum += float64(r.InputTokens)
	o.tcur.prefillToken += float64(r.InputTokens)
}

// rejected counts a request refused at arrival: requests_total with an error status.
func (o *observer) rejected() { o.completed++ }

func (o *observer) firstToken(ttft float64, r Request) {
	o.tcur.ttftH.add(ttft)
	o.cur.ttft.observe(o.bounds.ttft, ttft, 1)
	o.cur.isl.observe(o.bounds.isl, float64(r.InputTokens), 1)
}

func (o *observer) completion(_, itl float64, r Request) {
	o.completed++
	o.tcur.done++
	o.tcur.outSum += float64(r.OutputTokens)
	o.cur.osl.observe(o.bounds.osl, float64(r.OutputTokens), 1)
	if r.OutputTokens > 1 {
		o.tcur.itlH.add(itl)
		o.cur.itl.observe(o.bounds.itl, itl, float64(r.OutputTokens-1))
	}
}

// scrape is one Prometheus scrape at t: the histograms' interval closes into the ring, the
// counter and the gauges are sampled, and on step boundaries the series is recorded.
func (o *observer) scrape(t float64) {
	o.ring[o.pos] = o.cur
	slot := o.pos
	o.pos = (o.pos + 1) % len(o.ring)
	o.filled = min(o.filled+1, len(o.ring))
	o.cur = scrapeDelta{}
	o.samples = append(o.samples, burst.Sample{T: o.epoch + t + scrapeLag.Seconds(), V: o.completed})
	if n := len(o.samples); n > 64 && o.samples[n/2].T < o.epoch+t-o.keep {
		o.samples = append(o.samples[:0], o.samples[n/2:]...)
	}
	o.prev, o.last = o.last, o.gaugesAt(t, o.prev)
	if o.kvRing != nil {
		o.kvRing[slot] = append(o.kvRing[slot][:0], o.last.kv...)
	}
	o.step.merge(&o.tcur)
	o.tcur = bucket{}
	if t >= o.nextStep-1e-9 {
		o.record(t)
		o.step = bucket{}
		o.nextStep += o.stepS
	}
}

// gaugesAt samples the gauges at t, reusing reuse's slices.
func (o *observer) gaugesAt(t float64, reuse gauges) gauges {
	g := gauges{queued: float64(o.w.queueDepth), inflight: float64(o.w.infl), kv: reuse.kv[:0], active: reuse.active[:0]}
	for i := range o.w.svcs {
		kv, active := o.workers(i, t)
		g.kv, g.active = append(g.kv, kv), append(g.active, active)
	}
	return g
}

// windowDelta merges the deltas between the k scrapes inside the query's window (windowScrapes;
// the newest scrape excluded: the query lands just before it): what rate(x[window]) and its
// ratios see, k - 1 deltas.
func (o *observer) windowDelta(k int) (scrapeDelta, int) {
	var d scrapeDelta
	n := min(k-1, o.filled-1)
	for i := range max(n, 0) {
		d.merge(&o.ring[(o.pos-2-i+2*len(o.ring))%len(o.ring)])
	}
	return d, n
}

// windowScrapes is how many scrapes are stamped in the query's window (t - window, t]: ticks s
// with s + scrapeLag in that range, the tick at t itself excluded (stamped just after it).
func (o *observer) windowScrapes(t float64) int {
	k := 0
	for s := t - o.scrapeS; s+scrapeLag.Seconds() > t-o.window && s > 1e-9; s -= o.scrapeS {
		k++
	}
	return k
}

// kvMean is service i's KV usage averaged over the k scrapes before the newest (what
// avg_over_time over the window reads), from the scrapes that reported one (a slot not yet
// scraped is empty); false when none did.
func (o *observer) kvMean(i, k int) (float64, bool) {
	var sum, n float64
	for j := 1; j <= min(k, len(o.kvRing)-1); j++ {
		h := o.kvRing[(o.pos-1-j+2*len(o.kvRing))%len(o.kvRing)]
		if i < len(h) && h[i].OK {
			sum, n = sum+h[i].V, n+1
		}
	}
	if n == 0 {
		return 0, false
	}
	return sum / n, true
}

// observations is the planner's view at t: see observer's doc.
func (o *observer) observations(t float64, now time.Time) planner.Observations {
	ob := planner.Observations{Time: now, Window: time.Duration(o.window * float64(time.Second))}
	k := o.windowScrapes(t) // the histograms' deltas and the KV window read the same scrapes
	o.counted(&ob, t, k)
	g := o.prev
	if len(g.kv) != len(o.w.svcs) { // no scrape before this one yet
		ob.QueueDepth = planner.Unknown("empty result: not scraped yet")
		ob.Inflight = ob.QueueDepth
	} else {
		ob.QueueDepth, ob.Inflight = planner.Known(g.queued), planner.Known(g.inflight)
	}
	var kvSum, kvN float64
	for i := range o.w.svcs {
		so := o.service(i, g)
		if v, ok := o.kvMean(i, k); ok {
			so.KVUsage = planner.Known(v) // else the last scrape's reading, with its reason
		}
		if so.KVUsage.OK {
			kvSum += so.KVUsage.V
			kvN++
		}
		ob.Services = append(ob.Services, so)
	}
	ob.KVUsage = ratio(kvSum, kvN, "no decode workers")
	return ob
}

// counted fills the signals the counter and histograms give at t: the request rate and arrival
// CV from the scraped requests_total, means and percentiles from the buckets of the window's k
// scrapes.
func (o *observer) counted(ob *planner.Observations, t float64, k int) {
	// the newest sample is stamped just after t: Increase and CV leave it out
	if inc, ok := burst.Increase(o.samples, o.epoch+t, o.window); ok {
		ob.RequestRate = planner.Known(inc / o.window)
	} else {
		ob.RequestRate = planner.Unknown("empty result: fewer than two counter samples in the window")
	}
	ob.ArrivalCV = planner.Unknown("empty result: too few counter samples for the arrival CV")
	cvRange := max(burst.DefaultRange.Seconds(), o.window)
	if cv, ok := burst.CV(o.samples, o.epoch+t, burst.DefaultStep.Seconds(), cvRange); ok {
		ob.ArrivalCV = planner.Known(cv)
	}
	d, n := o.windowDelta(k)
	if n < 1 {
		d = scrapeDelta{}
	}
	ob.InputTokens = ratio(d.isl.sum, d.isl.count, "NaN: no first tokens in window")
	ob.OutputTokens = ratio(d.osl.sum, d.osl.count, "NaN: no completed requests in window")
	ob.TTFT = ratio(d.ttft.sum, d.ttft.count, "NaN: no first tokens in window")
	ob.ITL = ratio(d.itl.sum, d.itl.count, "NaN: no tokens in window")
	ob.TTFTPercentile = quantileValue(&d.ttft, o.bounds.ttft, o.w.d.TTFTPercentile/100)
	ob.ITLPercentile = quantileValue(&d.itl, o.bounds.itl, o.w.d.ITLPercentile/100)
	ob.InputTokensPercentile = quantileValue(&d.isl, o.bounds.isl, o.w.d.TTFTPercentile/100)
	ob.OutputTokensPercentile = quantileValue(&d.osl, o.bounds.osl, o.w.d.ITLPercentile/100)
	ob.TTFTAttained = fractionValue(&d.ttft, o.bounds.ttft, o.w.d.TTFT.Seconds(), "NaN: no first tokens in window")
	ob.ITLAttained = fractionValue(&d.itl, o.bounds.itl, o.w.d.ITL.Seconds(), "NaN: no tokens in window")
}

// service is service i's observation: replica counts from the DGD status now, worker gauges
// from the scrape g.
func (o *observer) service(i int, g gauges) planner.ServiceObservation {
	s := o.w.svcs[i]
	_, ready := o.w.counts(i)
	so := planner.ServiceObservation{Name: s.cfg.Name, Desired: int32(s.desired), Ready: int32(ready),
		ReplicasKnown: true, GPUsPerReplica: int32(s.cfg.GPUsPerReplica)}
	so.KVUsage, so.ActiveTokens = planner.Unknown("empty result: not scraped yet"), planner.Unknown("empty result: not scraped yet")
	if i < len(g.kv) {
		so.KVUsage, so.ActiveTokens = g.kv[i], g.active[i]
	}
	return so
}

// workers is service i's worker gauges at t: mean KV usage and active tokens (prefill tokens
// queued or running for prefill workers, KV blocks otherwise) over its serving workers.
func (o *observer) workers(i int, t float64) (kvUsage, active planner.Value) {
	w := o.w
	s := w.svcs[i]
	var kv, act, n float64
	for _, id := range s.engines {
		e := w.engines[id]
		if e.state == stateStarting {
			continue
		}
		n++
		k := e.kvAt(t)
		kv += k / w.d.Model.MaxKVTokens()
		if s.cfg.Role == policies.RolePrefill {
			act += e.prefillLoad()
		} else {
			act += k / KVBlockSize
		}
	}
	if n == 0 {
		return planner.Unknown("no serving workers"), planner.Unknown("no serving workers")
	}
	if s.cfg.Role == policies.RolePrefill {
		return planner.Unknown("prefill workers hold no KV cache between requests"), planner.Known(act / n)
	}
	return planner.Known(kv / n), planner.Known(act / n)
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

// fractionValue is the share of the window's observations at or below x (see
// promHist.fraction), missing with the given reason when there are none.
func fractionValue(h *promHist, bounds []float64, x float64, missing string) planner.Value {
	v, ok := h.fraction(bounds, x)
	if !ok {
		return planner.Unknown(missing)
	}
	return planner.Known(v)
}

func quantileValue(h *promHist, bounds []float64, q float64) planner.Value {
	v, ok := h.quantile(bounds, q)
	if !ok {
		return planner.Unknown("NaN: no samples in window")
	}
	return planner.Known(v)
}
