package planner

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/policies"
)

// bandForecaster forecasts a fixed point value and upper bound at every step and describes itself
// with a fixed status (a hand-written fake of the forecast package's forecasters).
type bandForecaster struct {
	value, upper float64
	status       forecast.Status
}

func (f *bandForecaster) Name() string    { return "band" }
func (f *bandForecaster) Observe(float64) {}
func (f *bandForecaster) Forecast(dst []forecast.Point, h int, _ float64) []forecast.Point {
	for range h {
		dst = append(dst, forecast.Point{Value: f.value, Lower: 0, Upper: f.upper})
	}
	return dst
}
func (f *bandForecaster) Clone() forecast.Forecaster { c := *f; return &c }
func (f *bandForecaster) Status() forecast.Status    { return f.status }

func TestRecentLoadPeak(t *testing.T) {
	var r recentLoad
	if _, ok := r.peak(sigRequests, 5); ok {
		t.Fatal("empty memory has a peak")
	}
	for i := range recentCap + 10 {
		r.add([numSignals]float64{float64(i), math.NaN(), float64(-i)})
	}
	tests := []struct {
		name  string
		k     signal
		steps int
		want  float64
		ok    bool
	}{
		{"newest only", sigRequests, 1, recentCap + 9, true},
		{"window of 5 keeps the newest", sigRequests, 5, recentCap + 9, true},
		{"missing values are not a peak", sigInput, 5, 0, false},
		{"negative values are not a peak", sigOutput, 5, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := r.peak(tc.k, tc.steps)
			if got != tc.want || ok != tc.ok {
				t.Errorf("peak = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	var s recentLoad
	for _, v := range []float64{3, 9, 2, 1} {
		s.add([numSignals]float64{v, v, v})
	}
	if got, _ := s.peak(sigRequests, 2); got != 2 {
		t.Errorf("peak over the newest 2 = %v, want 2 (9 is older)", got)
	}
	if got, _ := s.peak(sigRequests, 3); got != 9 {
		t.Errorf("peak over the newest 3 = %v, want 9", got)
	}
}

func TestBoundFor(t *testing.T) {
	cold := forecast.Status{Method: "auto", Active: "last", Observed: 500}
	short := forecast.Status{Method: "auto", Active: "auto", Observed: 30, Missing: 2}
	warm := forecast.Status{Method: "auto", Active: "auto", Observed: 3000, Missing: 10}
	inf := math.Inf(1)
	tests := []struct {
		name     string
		f        forecast.Forecaster
		upper    float64
		peak     float64
		havePeak bool
		want     bound
	}{
		{"nothing observed: unbounded", &bandForecaster{status: cold}, 100, 0, false, bound{limit: inf}},
		{"within 1.5x of the peak: unbounded", &bandForecaster{status: cold}, 15, 10, true, bound{limit: inf}},
		{"fallback forecaster: 1.5x", &bandForecaster{status: cold}, 60, 10, true, bound{limit: 15, cold: true}},
		{"short history: 1.5x", &bandForecaster{status: short}, 60, 10, true, bound{limit: 15, cold: true}},
		{"warm forecaster: 3x", &bandForecaster{status: warm}, 60, 10, true, bound{limit: 30}},
		{"forecaster without a status counts as warm", &lastValue{}, 60, 10, true, bound{limit: 30}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := boundFor(tc.upper, tc.peak, tc.havePeak, func() bool { return isCold(tc.f, 1440) })
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(bound{})); diff != "" {
				t.Errorf("boundFor (-want +got):\n%s", diff)
			}
		})
	}
}

func TestColdHistoryAndPeakSteps(t *testing.T) {
	if got := coldHistory(24*time.Hour, time.Minute); got != 1440 {
		t.Errorf("coldHistory(24h, 1m) = %d, want 1440", got)
	}
	if got := coldHistory(0, time.Minute); got != recentCap {
		t.Errorf("coldHistory without a season = %d, want %d", got, recentCap)
	}
	if got := peakSteps(5*time.Minute, time.Minute, 4); got != 5 {
		t.Errorf("peakSteps(5m window, lead 4) = %d, want 5", got)
	}
	if got := peakSteps(time.Hour*24, time.Minute, 4); got != recentCap {
		t.Errorf("peakSteps is not capped at %d: %d", recentCap, got)
	}
}

// TestForecastBoundInPlan checks the bound end to end: a cold forecaster's band of 6x the
// observed rate is cut to 1.5x (with a forecast-bounded reason), a warm one to 3x, and a warm
// band within 3x is used as it is.
func TestForecastBoundInPlan(t *testing.T) {
	tests := []struct {
		name    string
		status  forecast.Status
		upper   float64
		want    float64 // request rate sized for, before headroom
		bounded bool
	}{
		{"cold band cut to 1.5x observed", forecast.Status{Method: "auto", Active: "seasonal-naive"}, 60, 15, true},
		{"warm band cut to 3x observed", forecast.Status{Method: "auto", Active: "auto", Observed: 1e6}, 60, 30, true},
		{"warm band within 3x used as is", forecast.Status{Method: "auto", Active: "auto", Observed: 1e6}, 25, 25, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPolicy(t, disaggYAML)
			newFC := func(policies.Forecast, time.Duration) forecast.Forecaster {
				return &bandForecaster{value: 10, upper: tc.upper, status: tc.status}
			}
			st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: newFC})
			d := Plan(t0, steady(t0, 10, reps(1, 2, 1)), p, &st)
			sd, _ := d.Service("Prefill")
			if got := sd.Load.RequestRate / 1.1; math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("request rate sized for = %v x 1.1, want %v x 1.1; reasons:\n%v", got, tc.want, sd.Reasons)
			}
			if hasCode(sd, CodeForecastBounded) != tc.bounded {
				t.Errorf("forecast-bounded reason present = %v, want %v; reasons:\n%v", !tc.bounded, tc.bounded, sd.Reasons)
			}
		})
	}
}

func TestBoundFactorsAsPrinted(t *testing.T) {
	for _, tc := range []struct {
		factor  float64
		printed string
	}{{coldBoundFactor, coldFactor}, {warmBoundFactor, bandWideFactor}} {
		if got := strconv.FormatFloat(tc.factor, 'g', -1, 64); got != tc.printed {
			t.Errorf("factor %v is printed in reasons as %q", tc.factor, tc.printed)
		}
	}
}

// countingForecaster is a bandForecaster that counts Status calls.
type countingForecaster struct {
	bandForecaster
	asked *int
}

func (f *countingForecaster) Status() forecast.Status { *f.asked++; return f.status }

// TestColdnessAsksStatusSparingly checks that a forecaster seen warm is not asked again, and that
// while the request-rate forecaster is cold the token-rate ones are not asked.
func TestColdnessAsksStatusSparingly(t *testing.T) {
	tests := []struct {
		name   string
		status forecast.Status
		plans  int
		want   int
	}{
		{"warm: each of the three asked once over 5 plans", forecast.Status{Method: "auto", Active: "auto", Observed: 1e6}, 5, 3},
		{"cold: only the request rate asked, once per plan", forecast.Status{Method: "auto", Active: "last"}, 5, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPolicy(t, disaggYAML)
			asked := 0
			newFC := func(policies.Forecast, time.Duration) forecast.Forecaster {
				return &countingForecaster{bandForecaster{value: 10, upper: 1e9, status: tc.status}, &asked}
			}
			st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: newFC})
			for i := range tc.plans {
				now := t0.Add(time.Duration(i) * time.Minute)
				Plan(now, steady(now, 10, reps(1, 2, 1)), p, &st)
			}
			if asked != tc.want {
				t.Errorf("Status asked %d times, want %d", asked, tc.want)
			}
		})
	}
}
