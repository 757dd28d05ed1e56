package planner

import (
	"github.com/tidal-planner/tidal/policies"
)

// forecast sets the load to size for. With a warm reserve (reserve.go): per rate, the larger of
// the observed value times its growth factor at the service's risk quantile and the forecast's
// point value over the lead time, times 1 + headroom. While the reserve is cold: the larger of the
// observed value and the forecast's upper bound over the lead time (itself bounded by the recent
// observed peak, see bound.go), times 1 + headroom.
func (r *run) forecast(lf loadForecast) {
	if r.held {
		return
	}
	rate := r.obs.RequestRate.V
	isl, osl := r.obs.InputTokens.V, r.obs.OutputTokens.V
	if r.svc.Role == policies.RoleFrontend || !r.obs.InputTokens.OK || !r.obs.OutputTokens.OK {
		isl, osl = 0, 0 // a frontend needs none; missing past observe means idle (no requests)
	}
	in, out := rate*isl, rate*osl
	h := horizon(r.svc.StartupTime, r.p.Planning.Interval)
	reserved := r.reserve(lf, h, &rate, &in, &out)
	ok := reserved
	if !reserved {
		var u float64
		if u, ok = upper(lf.points[sigRequests], h); ok {
			u = r.bounded(u, lf.bounds[sigRequests])
		}
		rate = max(rate, u)
		if u, ok2 := upper(lf.points[sigInput], h); ok2 {
			in = max(in, min(u, lf.bounds[sigInput].limit))
		}
		if u, ok3 := upper(lf.points[sigOutput], h); ok3 {
			out = max(out, min(u, lf.bounds[sigOutput].limit))
		}
	}
	f := 1 + max(r.p.Planning.Headroom, 0)
	r.load = Load{RequestRate: rate * f, InputTokenRate: in * f, OutputTokenRate: out * f, InputTokens: isl, OutputTokens: osl}
	r.dec.Load = r.load
	if r.svc.Role != policies.RoleFrontend && r.load.RequestRate > 0 && !(isl > 0) {
		// Idle now, but the forecast still expects load, and sizing it needs token lengths.
		r.held = true
		r.add(StepObserve, CodeMissing, r.cur, r.cur, r.load.RequestRate, 0,
			"token lengths: no requests in the window, and the forecast expects load")
		return
	}
	switch {
	case reserved:
	case ok:
		r.add(StepForecast, CodeForecast, r.cur, r.cur, r.load.RequestRate, r.obs.RequestRate.V, lf.names[sigRequests])
	default:
		r.add(StepForecast, CodeForecastNone, r.cur, r.cur, r.load.RequestRate, r.obs.RequestRate.V, "")
	}
}

// reserve plans each rate as max(observed x G_q, the forecast's point value over the lead time),
// G_q being the growth factor at the service's risk quantile q (reserve.go), and says so. It
// returns false, changing nothing, while the request rate's reserve is cold.
func (r *run) reserve(lf loadForecast, h int, rate, in, out *float64) bool {
	q := r.ss.risk.quantile(r.svc.Role)
	var g [numSignals]float64
	for k := range numSignals {
		f, ok := r.st.growth[k].quantile(q)
		if k == sigRequests && !ok {
			return false
		}
		g[k] = f
	}
	for k, v := range [numSignals]*float64{rate, in, out} {
		*v *= g[k]
		if p, ok := pointMax(lf.points[k], h); ok {
			*v = max(*v, p)
		}
	}
	main := g[sigRequests]
	switch r.svc.Role {
	case policies.RolePrefill:
		main = g[sigInput]
	case policies.RoleDecode:
		main = g[sigOutput]
	case policies.RoleAggregated:
		main = max(g[sigInput], g[sigOutput])
	}
	r.add(StepForecast, CodeReserve, r.cur, r.cur, main, q, lf.names[sigRequests])
	return true
}

// bounded caps the request rate's upper bound at its bound, saying so (Value = the forecast's
// upper bound, Limit = the bound; Note = why).
func (r *run) bounded(u float64, b bound) float64 {
	if u <= b.limit {
		return u
	}
	note := "band wide: bounded at " + bandWideFactor + " x recent observed peak"
	if b.cold {
		note = "forecaster on a fallback (short history): bounded at " + coldFactor + " x recent observed peak"
	}
	r.add(StepForecast, CodeForecastBounded, r.cur, r.cur, u, b.limit, note)
	return b.limit
}
