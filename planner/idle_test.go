package planner

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/policies"
)

// noRequests is what Prometheus reports with no arrivals in the window: a known zero rate and
// 0/0 means (NaN, which the adapter turns into missing values).
func noRequests(o *Observations) {
	nan := Unknown("NaN: e.g. 0/0 when no request completed in the window")
	o.RequestRate = Known(0)
	o.InputTokens, o.OutputTokens, o.TTFT, o.ITL, o.TTFTPercentile, o.ITLPercentile = nan, nan, nan, nan, nan, nan
	o.Inflight = Known(0)
}

// fixedForecaster always forecasts v: a forecast that still expects load after traffic stopped.
type fixedForecaster struct{ v float64 }

func (f fixedForecaster) Name() string  { return "fixed" }
func (fixedForecaster) Observe(float64) {}
func (f fixedForecaster) Forecast(dst []forecast.Point, h int, _ float64) []forecast.Point {
	for range h {
		dst = append(dst, forecast.Point{Value: f.v, Lower: f.v, Upper: f.v})
	}
	return dst
}
func (f fixedForecaster) Clone() forecast.Forecaster { return f }

// TestZeroTraffic: real zero load (requests counted, none arrived) is planned down to the
// floor like any low load, through the scale-down window; missing data still holds (issue 13,
// defect 6).
func TestZeroTraffic(t *testing.T) {
	minute := time.Minute
	noRate := func(o *Observations) { o.RequestRate = Unknown("window not covered: ...") }
	keda := disaggYAML[:len(disaggYAML)-len("  stability: {scaleDownWindow: 5m, maxStepDown: 1, startupTimeout: 10m}\n")] +
		"  stability: {scaleDownWindow: 5m, maxStepDown: 10, startupTimeout: 10m}\n"
	kedaZero := replaceOnce(t, keda, "{name: Decode, role: decode, minReplicas: 1,", "{name: Decode, role: decode, minReplicas: 0, actuation: keda,")
	tests := []struct {
		name     string
		policy   string
		ticks    []tick
		service  string
		want     int32
		wantCode []Code
		noCode   []Code
	}{
		{
			name: "idle prefill waits for the scale-down window", policy: disaggYAML, service: "Prefill",
			ticks: series(3, minute, at(0, reps(1, 5, 3), noRequests)), want: 5,
			wantCode: []Code{CodeNoTraffic, CodeWindow}, noCode: []Code{CodeMissing, CodeHold},
		},
		{
			name: "idle prefill steps down after the window", policy: disaggYAML, service: "Prefill",
			ticks: series(7, minute, at(0, reps(1, 5, 3), noRequests)), want: 4,
			wantCode: []Code{CodeNoTraffic, CodeMaxStepDown}, noCode: []Code{CodeMissing, CodeHold},
		},
		{
			name: "idle decode goes to its minimum", policy: keda, service: "Decode",
			ticks: series(7, minute, at(0, reps(1, 5, 3), noRequests)), want: 1,
			wantCode: []Code{CodeNoTraffic, CodeMin},
		},
		{
			name: "idle decode goes to zero where the policy allows it", policy: kedaZero, service: "Decode",
			ticks: series(7, minute, at(0, reps(1, 5, 3), noRequests)), want: 0,
			wantCode: []Code{CodeNoTraffic}, noCode: []Code{CodeMin},
		},
		{
			name: "missing rate with NaN means is not idle: hold", policy: disaggYAML, service: "Prefill",
			ticks: series(7, minute, at(0, reps(1, 5, 3), noRequests, noRate)), want: 5,
			wantCode: []Code{CodeMissing, CodeHold}, noCode: []Code{CodeNoTraffic},
		},
		{
			name: "idle frontend steps down as before", policy: disaggYAML, service: "Frontend",
			ticks: series(7, minute, at(0, reps(3, 5, 3), noRequests)), want: 2,
			wantCode: []Code{CodeNoTraffic}, noCode: []Code{CodeMissing},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := runTicks(t, tt.policy, tt.ticks)
			sd, ok := d.Service(tt.service)
			if !ok {
				t.Fatalf("no decision for %s", tt.service)
			}
			got := codes(sd)
			if sd.Desired != tt.want {
				t.Errorf("desired %d, want %d; reasons:\n%s", sd.Desired, tt.want, reasonLines(sd))
			}
			for _, c := range tt.wantCode {
				if !slices.Contains(got, c) {
					t.Errorf("missing reason %s in %v", c, got)
				}
			}
			for _, c := range tt.noCode {
				if slices.Contains(got, c) {
					t.Errorf("unexpected reason %s in %v", c, got)
				}
			}
			if math.IsNaN(sd.Load.RequestRate) || math.IsNaN(sd.Load.InputTokenRate) || math.IsNaN(sd.Load.OutputTokenRate) {
				t.Errorf("NaN in the load: %+v", sd.Load)
			}
		})
	}
}

// TestZeroTrafficForecastStillExpectsLoad: idle now, but the forecast (bounded by the recent
// observed peak, which is not zero yet) expects load that sizing would need token lengths for:
// hold, saying why. Once the peak has left the scale-down window the bound is 0 and the idle
// service is planned down (TestZeroTraffic).
func TestZeroTrafficForecastStillExpectsLoad(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: func(policies.Forecast, time.Duration) forecast.Forecaster {
		return fixedForecaster{v: 20}
	}})
	var d Decision
	for i := range 5 { // three loaded minutes, then two idle ones (within the recent-peak bound)
		now := t0.Add(time.Duration(i) * time.Minute)
		obs := at(40, reps(1, 5, 3))
		if i >= 3 {
			obs = at(0, reps(1, 5, 3), noRequests)
		}
		d = Plan(now, obs(now), p, &st)
	}
	sd, _ := d.Service("Prefill")
	if sd.Desired != 5 || !sd.Held || !hasCode(sd, CodeMissing) {
		t.Errorf("desired %d held %v; want a hold at 5 with a missing reason:\n%s", sd.Desired, sd.Held, reasonLines(sd))
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not in the policy", old)
	}
	return strings.Replace(s, old, new, 1)
}
