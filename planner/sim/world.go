package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

// Options tune one run. The zero value is usable.
type Options struct {
	// Epoch is the wall-clock time of the workload's start, as the Autoscaler sees it.
	Epoch time.Time
	// ScrapeInterval is how often the observed metrics advance (Prometheus' scrape);
	// DefaultScrapeInterval if 0.
	ScrapeInterval time.Duration
	// SeriesStep is the resolution of the recorded time series; 60 s if 0.
	SeriesStep time.Duration
	// DropOverContext filters requests longer than the deployment's context out of the workload
	// instead of counting them as rejected SLO misses.
	DropOverContext bool
	// AbortAfterMisses stops the run early once more requests than this missed the SLO (used to
	// search static allocations quickly); 0 never aborts.
	AbortAfterMisses int
	// Progress, when set, is called now and then with the fraction of the workload simulated.
	Progress func(fraction float64)
}

// world is the state of one run.
type world struct {
	d    Deployment
	reqs []Request
	opt  Options
	as   Autoscaler
	cad  Cadence

	t       float64
	horizon float64
	ev      minHeap[event]
	seq     uint64
	engines []*engine
	svcs    []svcState
	pre     int // index of the prefill (or aggregated) service
	dec     int // index of the decode (or aggregated) service

	first []float32 // per request: TTFT in s, NaN until the first token (or if rejected)
	itl   []float32 // per request: mean ITL in s, NaN if none

	gpus, lastGPUChange float64
	gpuSeconds          float64
	queueDepth, infl    int
	met, missed         int
	rejected, filtered  int
	scaleEvents         int
	nextDecision        float64
	// the loop's cursor: next arrival, scrape ticks done, time of the next tick
	nextReq  int
	ticks    int
	nextTick float64
	aborted  bool

	obs    observer
	acct   account
	passes PassObserver // the autoscaler, when it learns from forward passes
}

// svcState is one service's replicas and their bookkeeping.
type svcState struct {
	cfg     Service
	desired int
	engines []int32 // engines not yet gone
}

// Run replays the workload against the deployment scaled by as, and returns what happened.
// It is deterministic. It fails only on an invalid deployment or workload.
func Run(d Deployment, wl Workload, as Autoscaler, opt Options) (Result, error) {
	w, err := newWorld(d, wl, as, opt)
	if err != nil {
		return Result{}, err
	}
	w.loop()
	return w.result(wl), nil
}

func newWorld(d Deployment, wl Workload, as Autoscaler, opt Options) (*world, error) {
	cad := as.Cadence()
	if err := checkInputs(d, wl, cad); err != nil {
		return nil, err
	}
	if opt.ScrapeInterval <= 0 {
		opt.ScrapeInterval = DefaultScrapeInterval
	}
	if opt.SeriesStep <= 0 {
		opt.SeriesStep = time.Minute
	}
	w := &world{d: d, reqs: wl.Requests, opt: opt, as: as, cad: cad,
		ev: minHeap[event]{less: eventLess}}
	w.horizon = max(wl.Duration.Seconds(), 0)
	if n := len(wl.Requests); n > 0 {
		w.horizon = max(w.horizon, wl.Requests[n-1].Arrival.Seconds())
	}
	w.first = make([]float32, len(wl.Requests))
	w.itl = make([]float32, len(wl.Requests))
	for i := range w.first {
		w.first[i], w.itl[i] = float32(math.NaN()), float32(math.NaN())
	}
	w.acct = newAccount(len(d.Services))
	w.passes, _ = as.(PassObserver)
	for i, s := range d.Services {
		w.svcs = append(w.svcs, svcState{cfg: s})
		switch s.Role {
		case policies.RolePrefill:
			w.pre = i
		case policies.RoleDecode:
			w.dec = i
		default:
			w.pre, w.dec = i, i
		}
		for range s.Initial {
			w.addEngine(i, stateReady)
		}
		w.svcs[i].desired = s.Initial
	}
	w.obs = newObserver(w, opt, cad)
	w.ticks, w.nextTick = 1, opt.ScrapeInterval.Seconds()
	w.nextDecision = cad.Interval.Seconds()
	return w, nil
}

// checkInputs validates what Run is given.
func checkInputs(d Deployment, wl Workload, cad Cadence) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("simulating deployment: %w", err)
	}
	if cad.Interval <= 0 || cad.Window <= 0 {
		return fmt.Errorf("autoscaler cadence must be positive (interval %v, window %v)", cad.Interval, cad.Window)
	}
	for i, r := range wl.Requests {
		switch {
		case r.Arrival < 0 || r.InputTokens < 0 || r.OutputTokens < 0:
			return fmt.Errorf("workload %q: request %d has a negative arrival or length (%+v)", wl.Name, i, r)
		case i > 0 && r.Arrival < wl.Requests[i-1].Arrival:
			return fmt.Errorf("workload %q: request %d arrives before request %d", wl.Name, i, i-1)
		}
	}
	return nil
}

// loop merges three sorted streams (arrivals, scheduled events, scrape ticks) in time order.
func (w *world) loop() {
	w.runUntil(math.Inf(1))
	w.chargeGPUs()
}

// runUntil advances the run through every arrival, event and scrape tick at or before limit
// (seconds), or to its end; the cursor lives in the world so a run can stop and resume (fork.go).
func (w *world) runUntil(limit float64) {
	scrape := w.opt.ScrapeInterval.Seconds()
	for steps := 0; !w.aborted; steps++ {
		ta, te, tt := math.Inf(1), math.Inf(1), math.Inf(1)
		if w.nextReq < len(w.reqs) {
			ta = w.reqs[w.nextReq].Arrival.Seconds()
		}
		if w.ev.len() > 0 {
			te = w.ev.peek().t
		}
		if w.nextTick <= w.horizon+scrape {
			tt = w.nextTick
		}
		if first := min(ta, te, tt); math.IsInf(first, 1) || first > limit {
			return
		}
		switch {
		case tt <= ta && tt <= te:
			w.t = tt
			w.tick()
			w.ticks++
			w.nextTick = float64(w.ticks) * scrape
		case ta <= te:
			w.t = ta
			w.arrive(int32(w.nextReq))
			w.nextReq++
		default:
			w.t = te
			w.handle(w.ev.pop())
		}
		if w.opt.Progress != nil && steps%65536 == 0 && w.horizon > 0 {
			w.opt.Progress(min(w.t/w.horizon, 1))
		}
	}
}

func (w *world) schedule(t float64, eng int32, kind eventKind, ver uint32) {
	w.seq++
	w.ev.push(event{t: t, seq: w.seq, eng: eng, kind: kind, ver: ver})
}

func (w *world) handle(ev event) {
	e := w.engines[ev.eng]
	switch ev.kind {
	case evReady:
		if e.state == stateStarting {
			e.state = stateReady
		}
	case evPrefillDone:
		w.prefillDone(ev.eng, e)
	case evDecodeFinish:
		if ev.ver == e.ver {
			w.decodeFinish(ev.eng, e)
		}
	}
	w.retireIfDrained(ev.eng, e)
}

// arrive admits request i: rejected if longer than the context, else routed to prefill.
func (w *world) arrive(i int32) {
	r := w.reqs[i]
	w.obs.arrival(w.t, r)
	if r.InputTokens+r.OutputTokens > w.d.MaxContext {
		if w.opt.DropOverContext {
			w.filtered++
			return
		}
		w.rejected++
		w.obs.rejected()
		w.acct.miss(r.Arrival.Seconds(), false, true)
		w.miss()
		return
	}
	w.queueDepth++
	w.infl++
	id := w.leastLoaded(w.pre, (*engine).arrivalLoad)
	e := w.engines[id]
	e.pq = append(e.pq, i)
	e.pqTokens += float64(r.InputTokens)
	if !e.busy {
		w.startBatch(id, e)
	}
}

// leastLoaded picks the ready replica of service s with the least load (lowest index on ties).
// A service always has a ready replica: scale-down keeps one and replicas start ready at t=0.
func (w *world) leastLoaded(s int, load func(*engine) float64) int32 {
	best, bestLoad := int32(-1), math.Inf(1)
	for _, id := range w.svcs[s].engines {
		e := w.engines[id]
		if e.state != stateReady {
			continue
		}
		if l := load(e); l < bestLoad {
			best, bestLoad = id, l
		}
	}
	return best
}

// startBatch takes requests from the prefill queue up to the token budget (at least one) and
// schedules the batch's completion.
func (w *world) startBatch(id int32, e *engine) {
	if e.pqHead == len(e.pq) {
		e.busy = false
		return
	}
	budget := float64(w.d.PrefillTokenBudget)
	e.batch, e.batchTok = e.batch[:0], 0
	for e.pqHead < len(e.pq) {
		r := e.pq[e.pqHead]
		in := float64(w.reqs[r].InputTokens)
		if len(e.batch) > 0 && e.batchTok+in > budget {
			break
		}
		e.batch = append(e.batch, r)
		e.batchTok += in
		e.pqTokens -= in
		e.pqHead++
	}
	e.compactQueues()
	e.busy = true
	if e.decodes() && e.active.len() > 0 {
		e.advance(w.t)
		e.paused = true
		e.ver++
	}
	wall := w.d.Model.PrefillSeconds(e.batchTok)
	w.prefillPass(e, wall)
	w.schedule(w.t+wall, id, evPrefillDone, 0)
}

// prefillDone hands every request of the finished batch its first token and passes it to decode.
func (w *world) prefillDone(id int32, e *engine) {
	for _, r := range e.batch {
		w.first[r] = float32(w.t - w.reqs[r].Arrival.Seconds())
		w.queueDepth--
		w.obs.firstToken(float64(w.first[r]), w.reqs[r])
		if w.reqs[r].OutputTokens <= 1 {
			w.finish(r)
			continue
		}
		did := id
		if e.role == policies.RolePrefill {
			did = w.leastLoaded(w.dec, (*engine).decodeLoad)
		}
		d := w.engines[did]
		d.waiting = append(d.waiting, r)
		d.waitTok += float64(w.reqs[r].InputTokens + w.reqs[r].OutputTokens)
		if did != id {
			w.admitAndReschedule(did, d)
			w.retireIfDrained(did, d)
		}
	}
	e.batch, e.batchTok, e.busy = e.batch[:0], 0, false
	if e.decodes() {
		e.advance(w.t)
		e.paused = false
		w.admitAndReschedule(id, e)
	}
	w.startBatch(id, e)
}

// admitAndReschedule brings waiting requests into the decode batch while KV capacity and the batch
// size allow, then re-reads the ITL and moves the engine's next-finish event.
func (w *world) admitAndReschedule(id int32, e *engine) {
	e.advance(w.t)
	maxKV := w.d.Model.MaxKVTokens()
	for e.wHead < len(e.waiting) && e.active.len() < w.d.MaxBatch {
		r := e.waiting[e.wHead]
		need := float64(w.reqs[r].InputTokens + w.reqs[r].OutputTokens)
		if e.active.len() > 0 && e.reserved+need > maxKV {
			break
		}
		e.wHead++
		e.waitTok -= need
		e.reserved += need
		e.sumIn += float64(w.reqs[r].InputTokens)
		e.sumAdmit += e.iter
		e.active.push(finishing{iter: e.iter + float64(w.reqs[r].OutputTokens-1), req: r})
	}
	e.compactQueues()
	e.recomputeITL(w.d.Model)
	w.decodePass(e)
	e.ver++
	if e.active.len() > 0 && !e.paused {
		dt := max(e.active.peek().iter-e.iter, 0) * e.itl
		w.schedule(w.t+dt, id, evDecodeFinish, e.ver)
	}
}

// decodeFinish completes every request of the batch that has generated its last token.
func (w *world) decodeFinish(id int32, e *engine) {
	e.advance(w.t)
	for e.active.len() > 0 && e.active.peek().iter <= e.iter+1e-6 {
		f := e.active.pop()
		r := w.reqs[f.req]
		e.reserved -= float64(r.InputTokens + r.OutputTokens)
		e.sumIn -= float64(r.InputTokens)
		e.sumAdmit -= f.iter - float64(r.OutputTokens-1)
		w.finish(f.req)
	}
	if e.active.len() == 0 {
		e.reserved = 0
	}
	w.admitAndReschedule(id, e)
}

// finish records a completed request and judges it against the SLO.
func (w *world) finish(r int32) {
	w.infl--
	req := w.reqs[r]
	ttft := float64(w.first[r])
	itl := 0.0
	if req.OutputTokens > 1 {
		itl = (w.t - req.Arrival.Seconds() - ttft) / float64(req.OutputTokens-1)
		w.itl[r] = float32(itl)
	}
	w.obs.completion(ttft, itl, req)
	if ttft <= w.d.TTFT.Seconds() && itl <= w.d.ITL.Seconds() {
		w.met++
		w.acct.met()
		return
	}
	w.acct.miss(req.Arrival.Seconds(), ttft > w.d.TTFT.Seconds(), false)
	w.miss()
}

func (w *world) miss() {
	w.missed++
	if w.opt.AbortAfterMisses > 0 && w.missed > w.opt.AbortAfterMisses {
		w.aborted = true
	}
}
