package planner

import (
	"math"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/policies"
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
				d = Plan(now, obs, p, &st)
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
		Plan(now, obs, p, &st)
		i++
	}
}

// BenchmarkPlanWarmForecaster is BenchmarkPlanDefaultForecaster in steady state: the three
// forecasters first take 14 days of one-minute load (a daily cycle with noise, the policy's
// default history), so their error windows are full and every model is fitted. "default" keeps
// the forecasters' daily refits (each one refits its models on 14 days once per 1,440 calls, so
// the mean includes them); "between-refits" sets RefitEvery beyond the run to time the per-call
// work alone. The "horizon-3" cases track errors for 3 horizons (this policy's longest lead time)
// instead of the default 12, which leaves forecasts up to 3 steps ahead unchanged.
//
//	go test -run XXX -bench PlanWarmForecaster -benchmem ./planner/
func BenchmarkPlanWarmForecaster(b *testing.B) {
	const day = 1440
	tests := []struct {
		name                   string
		refitEvery, maxHorizon int
	}{
		{"default", 0, 0}, {"between-refits", 1 << 30, 0},
		{"horizon-3", 0, 3}, {"horizon-3-between-refits", 1 << 30, 3},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			p := mustPolicy(b, disaggYAML)
			newFC := func(fc policies.Forecast, iv time.Duration) forecast.Forecaster {
				f, err := forecast.New(fc.Method, forecast.Options{
					Period: int(fc.Seasonality / iv), History: int(fc.History / iv),
					RefitEvery: tc.refitEvery, MaxHorizon: tc.maxHorizon,
				})
				if err != nil {
					b.Fatal(err)
				}
				return f
			}
			st := NewState(p, Options{Profile: synthProfile(b), NewForecaster: newFC})
			load := func(i int) float64 {
				return 40 + 20*math.Sin(2*math.Pi*float64(i)/day) + 4*math.Sin(float64(i)*0.7)
			}
			var h LoadHistory
			for i := range 14 * day {
				h.RequestRate = append(h.RequestRate, load(i))
				h.InputTokens = append(h.InputTokens, 2000) // as steady() observes
				h.OutputTokens = append(h.OutputTokens, 200)
			}
			st.Warm(h)
			obs := steady(t0, 40, reps(1, 3, 2))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				now := t0.Add(time.Duration(i) * time.Minute)
				obs.Time = now
				obs.RequestRate = Known(load(14*day + i))
				Plan(now, obs, p, &st)
				i++
			}
		})
	}
}
