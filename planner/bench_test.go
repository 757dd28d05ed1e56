package planner

import (
	"testing"
	"time"
)

// BenchmarkPlan plans one disaggregated deployment with 3 services (frontend, prefill, decode)
// per iteration, carrying the state across iterations as the loop does.
func BenchmarkPlan(b *testing.B) {
	tests := []struct {
		name   string
		policy string
	}{
		{"profile", steadyYAML},
		{"profile-calibrated", disaggYAML},
		{"budget-and-schedule", disaggYAML + "  budget: {maxGPUs: 6}\n  schedules:\n    - {name: peak, cron: '0 10 * * 1', duration: 1h, services: {Prefill: {minReplicas: 2}}}\n"},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			p := mustPolicy(b, tc.policy)
			st := NewState(p, Options{Profile: synthProfile(b), NewForecaster: lastValueForecasters(0.1)})
			obs := steady(t0, 40, reps(1, 3, 2))
			var d Decision
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				now := t0.Add(time.Duration(i) * time.Minute)
				obs.Time = now
				d, st = Plan(now, obs, p, st)
				i++
			}
			_ = d
		})
	}
}

// BenchmarkPlanDefaultForecaster is BenchmarkPlan with the forecast package's forecasters (the
// policy's method, auto by default) instead of the test's last-value stand-in.
func BenchmarkPlanDefaultForecaster(b *testing.B) {
	p := mustPolicy(b, disaggYAML)
	st := NewState(p, Options{Profile: synthProfile(b)})
	obs := steady(t0, 40, reps(1, 3, 2))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now := t0.Add(time.Duration(i) * time.Minute)
		obs.Time = now
		obs.RequestRate = Known(40 + 10*float64(i%7))
		_, st = Plan(now, obs, p, st)
		i++
	}
}
