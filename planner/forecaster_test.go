package planner

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLeadSteps checks the horizon DefaultForecasterFor tracks: the longest
// ceil((startup + interval) / interval) among the services.
func TestLeadSteps(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want int
	}{
		// Frontend 30s -> ceil(90/60) = 2; Prefill and Decode 2m -> ceil(180/60) = 3.
		{"disaggregated, longest wins", disaggYAML, 3},
		// 2m at 15s -> ceil(135/15) = 9.
		{"aggregated at 15s", aggYAML("15s", "2m"), 9},
		// 1s at 60s -> ceil(61/60) = 2.
		{"short startup", aggYAML("60s", "1s"), 2},
		// 100s at 60s -> ceil(160/60) = 3.
		{"partial interval rounds up", aggYAML("60s", "100s"), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := leadSteps(mustPolicy(t, tc.yaml)); got != tc.want {
				t.Errorf("leadSteps = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestDefaultForecasterForKeepsLeadForecasts checks that the forecaster NewState builds by
// default forecasts the lead time exactly as DefaultForecaster (12 horizons) does, and that it
// really tracks fewer horizons: beyond the lead time its bands are extrapolated, so they differ.
func TestDefaultForecasterForKeepsLeadForecasts(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	fc, iv := p.Planning.Forecast, p.Planning.Interval
	lead := leadSteps(p)
	short, full := DefaultForecasterFor(p)(fc, iv), DefaultForecaster(fc, iv)
	if short == nil || full == nil {
		t.Fatalf("forecasters: %v, %v", short, full)
	}
	const day = 1440 // one-minute steps
	for i := range 3 * day {
		v := 40 + 20*math.Sin(2*math.Pi*float64(i)/day) + 4*math.Sin(float64(i)*0.7)
		short.Observe(v)
		full.Observe(v)
	}
	got, want := short.Forecast(nil, 12, 0.8), full.Forecast(nil, 12, 0.8)
	if diff := cmp.Diff(want[:lead], got[:lead]); diff != "" {
		t.Errorf("forecasts up to the lead time (%d steps) differ (-12 horizons +lead):\n%s", lead, diff)
	}
	if cmp.Equal(want[lead:], got[lead:]) {
		t.Errorf("forecasts beyond the lead time (%d steps) are identical: MaxHorizon was not applied", lead)
	}
}

// TestNewStateUsesLeadForecaster checks that NewState without Options.NewForecaster builds the
// lead-time forecasters (same forecasts as DefaultForecasterFor's, fed the same load).
func TestNewStateUsesLeadForecaster(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	st := NewState(p, Options{})
	ref := DefaultForecasterFor(p)(p.Planning.Forecast, p.Planning.Interval)
	for i := range 600 {
		v := 30 + float64(i%60)
		st.forecasters[sigRequests].Observe(v)
		ref.Observe(v)
	}
	if diff := cmp.Diff(ref.Forecast(nil, 12, 0.8), st.forecasters[sigRequests].Forecast(nil, 12, 0.8)); diff != "" {
		t.Errorf("NewState's rate forecaster differs from DefaultForecasterFor's (-want +got):\n%s", diff)
	}
}

// aggYAML is a one-service aggregated policy with the given interval and startup time.
func aggYAML(interval, startup string) string {
	return `apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: agg}
spec:
  target: {namespace: llm, deployment: d, topology: aggregated}
  services:
    - {name: Worker, role: aggregated, minReplicas: 1, maxReplicas: 8, gpusPerReplica: 1, startupTime: ` + startup + `}
  slo: {ttft: {target: 500ms}, itl: {target: 30ms}}
  planning: {interval: ` + interval + `}
`
}
