package planner

import (
	"iter"
	"math"
	"time"

	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/policies"
)

// maxHorizon bounds the forecast lead time in intervals.
const maxHorizon = 1000

// Plan decides the desired replicas of every service of one deployment.
//
// It is pure and deterministic: no I/O, no clock (now is the decision time), no goroutines, no
// logging; the same (now, obs, p, *st) always gives the same decision. st is the caller's: Plan
// updates it in place to the state for the next call (forecasters, buffers, each service's
// memory). To run the same inputs twice (determinism tests, what-if runs), pass a Clone.
//
// The request rate it works with is the arrivals estimate (demand.go) when the in-flight gauge
// allows one. Decode services are planned after the others, so a decode service can read what
// this interval decided for prefill (guard_delivery.go). Per service it runs observe -> forecast -> size -> guard -> schedule -> stabilise -> rate-limit,
// then budget across services and finally clamps to each service's min and max. Every step that
// finds or changes something appends a Reason; docs/planner.md explains each.
func Plan(now time.Time, obs Observations, p policies.Policy, st *State) Decision {
	st.syncServices(p)
	obs, done, corrected := st.arrivals(now, obs, p.Planning.Interval)
	lf := st.forecastLoad(obs, p)
	n := p.NumServices()
	d := Decision{Time: now, Services: make([]ServiceDecision, n)}
	st.scratch = st.scratch[:0]
	draining := corrected && obs.RequestRate.V < done // requests in flight fell: completions outran arrivals
	for i, svc := range planOrder(p) {
		r := run{now: now, obs: obs, p: p, st: st, i: i, svc: svc, ss: &st.services[i], dec: &d.Services[i], all: d.Services,
			draining: draining}
		r.ss.reasonStart = len(st.scratch)
		r.noteArrivals(done, corrected)
		r.pipeline(lf)
		r.ss.reasonEnd = len(st.scratch)
	}
	budgetStart := len(st.scratch)
	d.ShortfallGPUs = st.applyBudget(p, d.Services)
	for i := range d.Services {
		st.clamp(p.ServiceAt(i), &d.Services[i], i)
	}
	st.decideWrites(p, d.Services)
	st.assemble(&d, budgetStart)
	for i := range d.Services {
		st.services[i].remember(now, d.Services[i].Current, d.Services[i].Desired)
	}
	d.GPUs = totalGPUs(d.Services)
	st.lastTime = now
	return d
}

// planOrder yields a policy's services with their indices in the order Plan decides them: every
// service but decode first, in file order, then the decode services, which read what this
// interval decided for prefill (guard_delivery.go). The error budget's replay (WarmBudget) keeps
// the same order, since a decode service's share reads what prefill has spent.
func planOrder(p policies.Policy) iter.Seq2[int, policies.Service] {
	return func(yield func(int, policies.Service) bool) {
		for pass := range 2 {
			for i := range p.NumServices() {
				svc := p.ServiceAt(i)
				if (svc.Role == policies.RoleDecode) != (pass == 1) {
					continue
				}
				if !yield(i, svc) {
					return
				}
			}
		}
	}
}

// loadForecast is the forecast of the deployment's load over the longest lead time: per step,
// the upper bounds of request rate and input/output token rates.
type loadForecast struct {
	points [numSignals][]forecast.Point // per signal, one point per step (nil: no forecaster)
	names  [numSignals]string
	bounds [numSignals]bound // ceilings on each signal's upper bound (bound.go)
}

// forecastLoad feeds this interval's observations to the forecasters and forecasts the longest
// lead time any service needs (startup time + one interval).
func (st *State) forecastLoad(obs Observations, p policies.Policy) loadForecast {
	rate, in, out := math.NaN(), math.NaN(), math.NaN()
	if obs.RequestRate.OK {
		rate = obs.RequestRate.V
		if obs.InputTokens.OK {
			in = rate * obs.InputTokens.V
		}
		if obs.OutputTokens.OK {
			out = rate * obs.OutputTokens.V
		}
		if idle(obs) { // no tokens arrive, whatever the (0/0) mean lengths
			in, out = 0, 0
		}
	}
	h := leadSteps(p)
	var lf loadForecast
	vals := [numSignals]float64{rate, in, out}
	st.recent.add(vals)
	for k := range numSignals {
		st.growth[k].setLead(h, p.Planning.Interval, p.Metrics.Window)
		st.growth[k].add(vals[k], countedRate(k, rate))
	}
	steps := peakSteps(p.Stability.ScaleDownWindow, p.Planning.Interval, h)
	minHist := coldHistory(p.Planning.Forecast.Seasonality, p.Planning.Interval)
	st.cold.newCall()
	st.points = st.points[:0]
	for k := range numSignals {
		f := st.forecasters[k]
		lf.bounds[k] = bound{limit: math.Inf(1)}
		if f == nil {
			continue
		}
		f.Observe(vals[k])
		start := len(st.points)
		st.points = f.Forecast(st.points, h, p.Planning.Forecast.Coverage)
		pts := st.points[start:len(st.points):len(st.points)]
		lf.names[k] = f.Name()
		if u, ok := upper(pts, h); ok {
			pk, have := st.recent.peak(k, steps)
			lf.bounds[k] = boundFor(u, pk, have, func() bool { return st.cold.cold(k, f, minHist) })
		}
		lf.points[k] = pts
	}
	return lf
}

// horizon is the lead time in intervals: ceil((startup + interval) / interval), at least 1.
func horizon(startup, interval time.Duration) int {
	if interval <= 0 {
		return 1
	}
	return min(max(int((startup+2*interval-1)/interval), 1), maxHorizon)
}

// pointMax returns the largest finite point forecast among the first h points, and false if none.
func pointMax(pts []forecast.Point, h int) (float64, bool) { return maxOver(pts, h, false) }

// upper returns the largest finite upper bound among the first h points, and false if none.
func upper(pts []forecast.Point, h int) (float64, bool) { return maxOver(pts, h, true) }

// maxOver returns the largest finite, non-negative value (the upper bound, or the point value)
// among the first h points, and false if none.
func maxOver(pts []forecast.Point, h int, useUpper bool) (float64, bool) {
	best, ok := 0.0, false
	for _, pt := range pts[:min(h, len(pts))] {
		v := pt.Value
		if useUpper {
			v = pt.Upper
		}
		if !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 {
			best, ok = max(best, v), true
		}
	}
	return best, ok
}

// remember records the decision in the service's memory: a desired count above the current one
// is a scale-up (it starts the startup hold), any change from the current count is a change.
func (s *serviceState) remember(now time.Time, current, desired int32) {
	if desired > current {
		s.lastUp = now
	}
	if desired != current {
		s.lastChange = now
	}
	s.last, s.decided = desired, true
}

// assemble copies the scratch reasons into one new slice, grouped per service in pipeline order:
// each service's own steps, then its budget reasons, then its clamp reasons.
func (st *State) assemble(d *Decision, budgetStart int) {
	all := make([]Reason, 0, len(st.scratch))
	for i := range d.Services {
		start := len(all)
		for _, r := range st.scratch[st.services[i].reasonStart:st.services[i].reasonEnd] {
			all = append(all, r.Reason)
		}
		for _, r := range st.scratch[budgetStart:] {
			if r.service == i {
				all = append(all, r.Reason)
			}
		}
		d.Services[i].Reasons = all[start:len(all):len(all)]
	}
}

// taggedReason is a reason in the scratch buffer with the index of its service.
type taggedReason struct {
	Reason
	service int
}

// add appends a reason for service i to the scratch buffer.
func (st *State) add(i int, r Reason) { st.scratch = append(st.scratch, taggedReason{r, i}) }

func totalGPUs(ss []ServiceDecision) int32 {
	var g int32
	for _, s := range ss {
		g += s.Desired * s.GPUsPerReplica
	}
	return g
}
