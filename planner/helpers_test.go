package planner

import (
	"math"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/planner/model"
	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/policies"
)

// t0 is the scenarios' start: a Monday, 10:00 UTC.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// disaggYAML is a three-service disaggregated policy used by most tests.
const disaggYAML = `apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: test}
spec:
  target: {namespace: llm, deployment: d, topology: disaggregated}
  services:
    - {name: Frontend, role: frontend, minReplicas: 1, maxReplicas: 4, requestsPerSecondPerReplica: 50, startupTime: 30s}
    - {name: Prefill, role: prefill, minReplicas: 1, maxReplicas: 10, gpusPerReplica: 1, startupTime: 2m}
    - {name: Decode, role: decode, minReplicas: 1, maxReplicas: 10, gpusPerReplica: 2, startupTime: 2m}
  slo:
    ttft: {target: 300ms, percentile: 90}
    itl: {target: 20ms, percentile: 90}
  planning: {interval: 60s, headroom: 0.1}
  stability: {scaleDownWindow: 5m, maxStepDown: 1, startupTimeout: 10m}
`

func mustPolicy(t testing.TB, y string) policies.Policy {
	t.Helper()
	p, err := policies.Parse([]byte(y), "test.yaml")
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return p
}

// synthProfile is a small synthetic profile: prefill TTFT = ISL / 20000 tokens/s (50 ms at 1000
// tokens), decode ITL from 5 ms at 10% KV to 45 ms at 90%, 500k KV tokens per engine.
func synthProfile(t testing.TB) *model.Profile {
	t.Helper()
	pre, err := profile.NewPrefill([]float64{1000, 2000, 4000, 8000}, []float64{50, 100, 200, 400},
		[]float64{20000, 20000, 20000, 20000})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := profile.NewDecode(
		[]float64{0.1, 0.5, 0.9, 0.1, 0.5, 0.9},
		[]float64{1000, 1000, 1000, 4000, 4000, 4000},
		[]float64{5, 25, 45, 5, 25, 45},
		[]float64{1000, 5000, 9000, 800, 4000, 7000}, 500000)
	if err != nil {
		t.Fatal(err)
	}
	m := model.FromProfile(profile.Profile{Source: "synthetic", Prefill: pre, Decode: dec,
		Config: profile.Config{GPUs: 1, ThroughputGPUs: 1}})
	return &m
}

// lastValue is a hand-written forecaster: it predicts the last observed value with an upper bound
// spread above it (a stand-in for the forecast package in tests).
type lastValue struct {
	last   float64
	spread float64
}

func (f *lastValue) Name() string { return "last-value" }

func (f *lastValue) Observe(v float64) {
	if !math.IsNaN(v) {
		f.last = v
	}
}

func (f *lastValue) Forecast(dst []forecast.Point, h int, _ float64) []forecast.Point {
	for range h {
		dst = append(dst, forecast.Point{Value: f.last, Lower: f.last, Upper: f.last * (1 + f.spread)})
	}
	return dst
}

func (f *lastValue) Clone() forecast.Forecaster { c := *f; return &c }

func lastValueForecasters(spread float64) func(policies.Forecast, time.Duration) forecast.Forecaster {
	return func(policies.Forecast, time.Duration) forecast.Forecaster { return &lastValue{spread: spread} }
}

// steady returns observations of a healthy deployment at a request rate with replica counts.
func steady(now time.Time, rate float64, replicas map[string]int32) Observations {
	o := Observations{
		Time: now, Window: time.Minute,
		RequestRate: Known(rate), InputTokens: Known(2000), OutputTokens: Known(200),
		TTFT: Known(0.1), TTFTPercentile: Known(0.15), ITL: Known(0.01), ITLPercentile: Known(0.012),
		QueueDepth: Known(0), Inflight: Known(rate * 2), KVUsage: Known(0.3), ArrivalCV: Known(1),
	}
	for _, name := range []string{"Frontend", "Prefill", "Decode", "Worker"} {
		if n, ok := replicas[name]; ok {
			o.Services = append(o.Services, ServiceObservation{Name: name, Desired: n, Ready: n, ReplicasKnown: true})
		}
	}
	return o
}

// codes lists a service decision's reason codes.
func codes(sd ServiceDecision) []Code {
	var out []Code
	for _, r := range sd.Reasons {
		out = append(out, r.Code)
	}
	return out
}

func hasCode(sd ServiceDecision, c Code) bool {
	for _, r := range sd.Reasons {
		if r.Code == c {
			return true
		}
	}
	return false
}

// checkKeeps runs one stabilise check on r (its reasons go to st's scratch, cleared first) and
// compares the count it leaves and the code of the last reason it gave ("" for none).
func checkKeeps(t *testing.T, st *State, r *run, check func(), wantAfter int32, wantCode Code) {
	t.Helper()
	st.scratch = st.scratch[:0]
	check()
	if r.want != wantAfter {
		t.Errorf("want after check = %d, expected %d", r.want, wantAfter)
	}
	var got Code
	for _, x := range st.scratch {
		got = x.Code
	}
	if got != wantCode {
		t.Errorf("last reason %q, want %q", got, wantCode)
	}
}
