package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func policy(t *testing.T, name string) policies.Policy {
	t.Helper()
	p, err := policies.Parse([]byte(fmt.Sprintf(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: %s}
spec:
  target: {namespace: llm, deployment: d-%s, topology: aggregated}
  services:
    - {name: Worker, role: aggregated, minReplicas: 1, maxReplicas: 4, gpusPerReplica: 1}
  slo: {ttft: {target: 500ms}, itl: {target: 30ms}}
  metrics: {model: m}
`, name, name)), name+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tick builds a tick of policy p deciding desired from current, with a missing queue depth.
func tick(p policies.Policy, at time.Time, current, desired int32, errs ...planner.TickError) planner.Tick {
	return planner.Tick{
		Policy: p, Time: at, Duration: 30 * time.Millisecond, Outcome: planner.OutcomeApplied, Changed: true,
		Observations: planner.Observations{RequestRate: planner.Known(12), QueueDepth: planner.Unknown("empty result")},
		Decision: planner.Decision{Time: at, GPUs: desired, Services: []planner.ServiceDecision{{
			Name: "Worker", Role: policies.RoleAggregated, Current: current, Ready: current, Desired: desired,
			GPUsPerReplica: 1, Need: 2.4, Load: planner.Load{RequestRate: 13.2},
			Reasons: []planner.Reason{{Step: planner.StepSize, Code: planner.CodeSized, Before: current, After: desired, Value: 2.4}},
		}}},
		Errors: errs,
	}
}

func TestRecorderMetrics(t *testing.T) {
	r := ops.NewRecorder(ops.Options{})
	p := policy(t, "a")
	r.Record(tick(p, t0, 1, 3, planner.TickError{Stage: planner.StageApply, Err: context.DeadlineExceeded}))
	r.Record(tick(p, t0.Add(time.Minute), 3, 3))
	const want = `
# HELP tidal_desired_replicas Replicas the last decision wants.
# TYPE tidal_desired_replicas gauge
tidal_desired_replicas{deployment="d-a",namespace="llm",policy="a",service="Worker"} 3
# HELP tidal_decision_reasons_total Reasons recorded by decisions, by pipeline step and code.
# TYPE tidal_decision_reasons_total counter
tidal_decision_reasons_total{code="sized",deployment="d-a",namespace="llm",policy="a",service="Worker",step="size"} 2
# HELP tidal_errors_total Tick errors by stage and kind.
# TYPE tidal_errors_total counter
tidal_errors_total{kind="timeout",policy="a",stage="apply"} 1
`
	names := []string{"tidal_desired_replicas", "tidal_decision_reasons_total", "tidal_errors_total"}
	if err := testutil.GatherAndCompare(r.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	tests := []struct {
		name   string
		metric string
		want   int
	}{
		{"observed signals present", "tidal_observed", 1},
		{"missing flags for every observed signal", "tidal_observation_missing", observedSignals()},
		{"min and max bounds", "tidal_replica_bounds", 2},
		{"three planned load signals", "tidal_planned_load", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := testutil.GatherAndCount(r.Registry(), tc.metric)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.want {
				t.Errorf("%s has %d series, want %d", tc.metric, n, tc.want)
			}
		})
	}
	r.SetPolicies(nil)
	if n, _ := testutil.GatherAndCount(r.Registry(), "tidal_desired_replicas"); n != 0 {
		t.Errorf("a removed policy keeps %d desired series", n)
	}
}

// observedSignals counts the deployment-level signals of planner.Observations (its Value fields).
func observedSignals() int {
	n := 0
	t := reflect.TypeFor[planner.Observations]()
	for i := range t.NumField() {
		if t.Field(i).Type == reflect.TypeFor[planner.Value]() {
			n++
		}
	}
	return n
}

func TestDebugDecisions(t *testing.T) {
	r := ops.NewRecorder(ops.Options{Keep: 2})
	a, b := policy(t, "a"), policy(t, "b")
	for i := range 3 {
		r.Record(tick(a, t0.Add(time.Duration(i)*time.Minute), 1, int32(2+i)))
	}
	r.Record(tick(b, t0, 1, 1, planner.TickError{Stage: planner.StageObserve, Err: errors.New("boom")}))
	srv := httptest.NewServer(ops.Handler(r, ops.Checks{}))
	defer srv.Close()
	tests := []struct {
		name  string
		query string
		want  []string // policy/desired/outcome per entry, newest first
	}{
		{"all, newest first, two kept per policy", "", []string{"a/4", "a/3", "b/1"}},
		{"one policy", "?policy=b", []string{"b/1"}},
		{"limited", "?limit=1", []string{"a/4"}},
		{"unknown policy", "?policy=zzz", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + "/debug/decisions" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var ds []ops.Decision
			if err := json.NewDecoder(resp.Body).Decode(&ds); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range ds {
				got = append(got, fmt.Sprintf("%s/%d", d.Policy, d.Services[0].Desired))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
		})
	}
	ds := r.Decisions("b", 0)
	if len(ds) != 1 || len(ds[0].Errors) != 1 || ds[0].Errors[0].Stage != "observe" ||
		ds[0].Observed["queueDepth"].Missing != "empty result" || ds[0].Services[0].Reasons[0].Detail == "" {
		t.Errorf("decision of b lacks its error, missing reason or reason detail: %+v", ds)
	}
}

func TestProbes(t *testing.T) {
	notReady := errors.New("no policy has ticked yet")
	tests := []struct {
		name  string
		path  string
		check ops.Checks
		want  int
	}{
		{"live", "/healthz", ops.Checks{}, http.StatusOK},
		{"loop stopped", "/healthz", ops.Checks{Live: func() error { return errors.New("loop stopped") }}, http.StatusServiceUnavailable},
		{"ready", "/readyz", ops.Checks{Ready: func() error { return nil }}, http.StatusOK},
		{"not ready", "/readyz", ops.Checks{Ready: func() error { return notReady }}, http.StatusServiceUnavailable},
		{"metrics", "/metrics", ops.Checks{}, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			ops.Handler(ops.NewRecorder(ops.Options{}), tc.check).ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
			if rec.Code != tc.want {
				t.Errorf("GET %s = %d, want %d: %s", tc.path, rec.Code, tc.want, rec.Body)
			}
		})
	}
}

// TestDebugDecisionRendering: a kept tick renders as the full Decision /debug/decisions has
// always shown (the Recorder keeps ticks compactly and renders them when read): every field,
// the window the tick ran with and the scrape interval it was fitted to, observed values and
// missing reasons (a non-finite value is missing as "not finite"),
// non-finite numbers as 0, reasons with their detail line, errors classified.
func TestDebugDecisionRendering(t *testing.T) {
	p := policy(t, "a")
	fitted, _ := p.FitScrape(time.Minute) // the tick ran with its window widened to 4m
	tk := tick(fitted, t0, 1, 3, planner.TickError{Stage: planner.StageApply, Err: context.DeadlineExceeded})
	tk.Observations.TTFT = planner.Known(math.Inf(1))
	tk.Decision.ShortfallGPUs = 2
	tk.Decision.Services[0].Need = math.NaN()
	tk.Decision.Services[0].Held = true
	tk.Decision.Services[0].Reasons = append(tk.Decision.Services[0].Reasons,
		planner.Reason{Step: planner.StepClamp, Code: planner.CodeMax, Before: 5, After: 3, Limit: math.Inf(1), Note: "n"})
	failed := planner.Tick{Policy: p, Time: t0.Add(-time.Minute), Outcome: planner.OutcomeFailed,
		Errors: []planner.TickError{{Stage: planner.StageHistory, Err: errors.New("no history")}}}
	r := ops.NewRecorder(ops.Options{})
	r.Record(failed)
	r.Record(tk)
	twelve := 12.0
	observed := map[string]ops.Value{}
	for _, s := range []policies.Signal{policies.SignalInputTokens, policies.SignalOutputTokens,
		policies.SignalTTFTPercentile, policies.SignalITL, policies.SignalITLPercentile, policies.SignalInflight,
		policies.SignalKVUsage, policies.SignalArrivalCV, policies.SignalInputTokensPercentile,
		policies.SignalOutputTokensPercentile, policies.SignalTTFTAttained, policies.SignalITLAttained} {
		observed[string(s)] = ops.Value{}
	}
	observed[string(policies.SignalRequestRate)] = ops.Value{Value: &twelve}
	observed[string(policies.SignalQueueDepth)] = ops.Value{Missing: "empty result"}
	observed[string(policies.SignalTTFT)] = ops.Value{Missing: "not finite"}
	want := []ops.Decision{{
		Policy: "a", Namespace: "llm", Deployment: "d-a", Mode: string(p.Mode), Time: t0, DurationSeconds: 0.03,
		WindowSeconds: 240, ScrapeIntervalSeconds: 60, Outcome: "applied", Changed: true, GPUs: 3, ShortfallGPUs: 2,
		Services: []ops.Service{{Name: "Worker", Role: "aggregated", Current: 1, Ready: 1, Desired: 3, Held: true,
			GPUsPerReplica: 1, Need: 0, Load: ops.Load{RequestRate: 13.2}, Reasons: []ops.Reason{
				{Step: "size", Code: "sized", Before: 1, After: 3, Value: 2.4, Detail: tk.Decision.Services[0].Reasons[0].Detail()},
				{Step: "clamp", Code: string(planner.CodeMax), Before: 5, After: 3, Note: "n", Detail: tk.Decision.Services[0].Reasons[1].Detail()},
			}}},
		Observed: observed,
		Errors:   []ops.Error{{Stage: "apply", Kind: "timeout", Error: context.DeadlineExceeded.Error()}},
	}, {
		Policy: "a", Namespace: "llm", Deployment: "d-a", Mode: string(p.Mode), Time: t0.Add(-time.Minute),
		WindowSeconds: 60, Outcome: "failed", Errors: []ops.Error{{Stage: "history", Kind: "error", Error: "no history"}},
	}}
	if diff := cmp.Diff(want, r.Decisions("a", 0)); diff != "" {
		t.Errorf("rendered decisions (-want +got):\n%s", diff)
	}
}

// TestDebugDecisionErrorBudget: /debug/decisions shows a service's error-budget state when the
// controller ran, its burn and spend only when they were measured, and a non-finite number as 0.
func TestDebugDecisionErrorBudget(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	tests := []struct {
		name   string
		budget planner.ErrorBudget
		want   *ops.ErrorBudget
	}{
		{"not charged", planner.ErrorBudget{}, nil},
		{"frozen: level only", planner.ErrorBudget{Known: true, Risk: 0.05, ReserveQuantile: 0.95, Share: 0.01},
			&ops.ErrorBudget{Risk: 0.05, ReserveQuantile: 0.95, Share: 0.01}},
		{"measured", planner.ErrorBudget{Known: true, Risk: 0.02, ReserveQuantile: 0.98, Share: 0.005, Measured: true, Burn: 2.5, Spent: 0.4},
			&ops.ErrorBudget{Risk: 0.02, ReserveQuantile: 0.98, Share: 0.005, Burn: f(2.5), Spent: f(0.4)}},
		{"measured, not finite", planner.ErrorBudget{Known: true, Risk: 0.6, ReserveQuantile: 0.7, Share: 0.01, Measured: true, Burn: math.Inf(1), Spent: math.NaN()},
			&ops.ErrorBudget{Risk: 0.6, ReserveQuantile: 0.7, Share: 0.01, Burn: f(0), Spent: f(0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk := tick(policy(t, "a"), t0, 1, 3)
			tk.Decision.Services[0].Budget = tc.budget
			r := ops.NewRecorder(ops.Options{})
			r.Record(tk)
			ds := r.Decisions("a", 0)
			if len(ds) != 1 || len(ds[0].Services) != 1 {
				t.Fatalf("got %d decisions, want one of one service", len(ds))
			}
			if diff := cmp.Diff(tc.want, ds[0].Services[0].ErrorBudget); diff != "" {
				t.Errorf("errorBudget (-want +got):\n%s", diff)
			}
		})
	}
}
