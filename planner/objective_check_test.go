package planner

import (
	"testing"

	"github.com/tidal-planner/tidal/policies"
)

// TestScaleDownObjectiveCheck checks the n-1 check at the objective's percentile: a prefill
// scale-down to 5 is held when 5 replicas carry the observed load at the SLO's percentile (p90)
// but not the observed load / (1 + tolerance) at the objective's (p99). The edges are found by
// bisection on the size step itself. Arrivals count as Poisson whatever CV the window measured.
func TestScaleDownObjectiveCheck(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	st := NewState(p, Options{Profile: synthProfile(t)})
	newRun := func(p policies.Policy, svc int, cur, want int32, rate, cv float64) run {
		var d ServiceDecision
		obs := steady(t0, rate, reps(1, cur, cur))
		obs.ArrivalCV = Known(cv)
		r := run{now: t0, obs: obs, p: p, st: &st, i: svc, svc: p.ServiceAt(svc),
			ss: &st.services[svc], dec: &d, cur: cur, ready: cur, known: true, want: want}
		r.dec.GPUsPerReplica = 1
		r.load = Load{RequestRate: rate, InputTokenRate: rate * 2000, OutputTokenRate: rate * 200, InputTokens: 2000, OutputTokens: 200}
		return r
	}
	// edge is the largest observed rate whose need at percentile pct is at most 5 prefill replicas.
	edge := func(pct float64) float64 {
		lo, hi := 1.0, 400.0
		for range 60 {
			mid := (lo + hi) / 2
			r := newRun(p, 1, 6, 5, mid, 1)
			z := r.sizingFor()
			z.slo.TTFT.Percentile, z.variability = pct, variability(Known(1))
			if n := size(synthProfile(t), r.observedLoad(), z); n.replicas <= 5 {
				lo = mid
			} else {
				hi = mid
			}
		}
		return lo
	}
	tol := 1 + p.Stability.ScaleDownTolerance
	p90, p99 := edge(p.SLO.TTFT.Percentile), edge(99)*tol
	if !(p99 < p90) {
		t.Fatalf("premise: the objective's edge x (1 + tolerance) %.2f req/s must be below the SLO percentile's %.2f", p99, p90)
	}
	loose := p
	loose.SLO.Objective = p.SLO.TTFT.Percentile / 100
	tests := []struct {
		name      string
		p         policies.Policy
		svc       int
		rate, cv  float64
		wantAfter int32
		wantCode  Code
	}{
		{"carried at p90, not at p99 within the tolerance: held", p, 1, (p99 + p90) / 2, 1, 6, CodeObjectiveBlocks},
		{"carried at p99 within the tolerance: allowed", p, 1, p99 * 0.99, 1, 5, ""},
		{"a bursty window (arrival CV 3) is not read as the steady state: allowed", p, 1, p99 * 0.99, 3, 5, ""},
		{"objective no stricter than the SLO's percentile: no check", loose, 1, (p99 + p90) / 2, 1, 5, ""},
		{"decode: no check", p, 2, (p99 + p90) / 2, 1, 5, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRun(tc.p, tc.svc, 6, 5, tc.rate, tc.cv)
			checkKeeps(t, &st, &r, func() { r.keepForObjective(r.sizingFor()) }, tc.wantAfter, tc.wantCode)
		})
	}
}
