package planner

import (
	"math"
	"path/filepath"
	"strings"
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
// forecasters first take 14 days of load at the policy's interval (a daily cycle with noise, the
// policy's default history), so every model is fitted and the error bands are full; then one op
// is one Plan call one interval later. Refits fall inside the measured loop at their real cadence
// (the mean includes them: b.Loop runs for at least a second, tens of simulated days here).
//
// "policy" cases build the forecasters as NewState does by default (DefaultForecasterFor: the
// policy's method, 'auto' unless set, fitted on forecast.AggregateFor-interval means and tracking
// the policy's lead time), for the test policy and each shipped example policy. "per-interval"
// cases fit the method on the series itself (Aggregate 1, the forecaster before issue 11) with
// the default 12 tracked horizons or the lead time; "between-refits" pushes refits beyond the run
// to time the per-call work alone.
//
//	go test -run '^$' -bench PlanWarmForecaster -benchmem ./planner/
func BenchmarkPlanWarmForecaster(b *testing.B) {
	const never = 1 << 30
	tests := []struct {
		name       string
		policy     string // YAML, or a file under ../policies/examples
		fine       bool   // fit on the series itself (Aggregate 1)
		refitEvery int
		maxHorizon int // 0: the package default (12) when fine, the lead time otherwise
	}{
		{name: "policy/test", policy: disaggYAML},
		{name: "policy/test/between-refits", policy: disaggYAML, refitEvery: never},
		{name: "policy/disaggregated.yaml", policy: "disaggregated.yaml"},
		{name: "policy/aggregated.yaml", policy: "aggregated.yaml"},
		{name: "policy/hybrid.yaml", policy: "hybrid.yaml"},
		{name: "policy/scheduled-peak.yaml", policy: "scheduled-peak.yaml"},
		{name: "per-interval/h12", policy: disaggYAML, fine: true},
		{name: "per-interval/h12/between-refits", policy: disaggYAML, fine: true, refitEvery: never},
		{name: "per-interval/h3", policy: disaggYAML, fine: true, maxHorizon: 3},
		{name: "per-interval/h3/between-refits", policy: disaggYAML, fine: true, maxHorizon: 3, refitEvery: never},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			p := benchPolicy(b, tc.policy)
			var newFC func(policies.Forecast, time.Duration) forecast.Forecaster // nil: NewState's default
			if tc.fine || tc.refitEvery != 0 {
				newFC = func(fc policies.Forecast, iv time.Duration) forecast.Forecaster {
					o := forecast.Options{
						Period: int(fc.Seasonality / iv), History: int(fc.History / iv),
						RefitEvery: tc.refitEvery, MaxHorizon: tc.maxHorizon,
					}
					if !tc.fine {
						o.Aggregate, o.MaxHorizon = forecast.AggregateFor(o.Period, o.History), leadSteps(p)
					}
					f, err := forecast.New(fc.Method, o)
					if err != nil {
						b.Fatal(err)
					}
					return f
				}
			}
			benchWarmPlan(b, p, newFC)
		})
	}
}

// benchPolicy parses y, or loads the example policy file y names.
func benchPolicy(b *testing.B, y string) policies.Policy {
	if !strings.HasSuffix(y, ".yaml") {
		return mustPolicy(b, y)
	}
	p, err := policies.LoadFile(filepath.Join("..", "policies", "examples", y))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// benchWarmPlan warms p's forecasters with 14 days of a daily cycle at p's interval, then plans
// one interval per op.
func benchWarmPlan(b *testing.B, p policies.Policy, newFC func(policies.Forecast, time.Duration) forecast.Forecaster) {
	iv := p.Planning.Interval
	day := int(24 * time.Hour / iv)
	st := NewState(p, Options{Profile: synthProfile(b), NewForecaster: newFC})
	load := func(i int) float64 {
		return 40 + 20*math.Sin(2*math.Pi*float64(i)/float64(day)) + 4*math.Sin(float64(i)*0.7)
	}
	var h LoadHistory
	for i := range 14 * day {
		h.RequestRate = append(h.RequestRate, load(i))
		h.InputTokens = append(h.InputTokens, 2000) // as steady() observes
		h.OutputTokens = append(h.OutputTokens, 200)
	}
	st.Warm(h)
	obs := steady(t0, 40, nil)
	for i := range p.NumServices() {
		obs.Services = append(obs.Services, ServiceObservation{Name: p.ServiceAt(i).Name, Desired: 2, Ready: 2, ReplicasKnown: true})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		now := t0.Add(time.Duration(i) * iv)
		obs.Time = now
		obs.RequestRate = Known(load(14*day + i))
		Plan(now, obs, p, &st)
		i++
	}
}
