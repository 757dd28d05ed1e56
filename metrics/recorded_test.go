package metrics_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/planner"
)

// TestObserveRecorded replays Prometheus answers recorded from a real server (see
// testdata/metrics/README.md) and checks each edge becomes the right missing value.
func TestObserveRecorded(t *testing.T) {
	cases := map[string]fixtureCase{}
	for _, c := range fixtureCases() {
		cases[c.name] = c
	}
	with := func(change func(*planner.Observations)) planner.Observations {
		o := expected(steady())
		change(&o)
		return o
	}
	nan := planner.Unknown(metrics.ReasonNaN)
	tests := []struct {
		name    string
		fixture string
		policy  fixtureCase
		want    planner.Observations
	}{
		{"healthy", "ok", cases["ok"], expected(steady())},
		{"no series", "empty", cases["empty"], missingAll(metrics.ReasonEmpty)},
		{"no requests: 0/0 means and quantiles", "nan", cases["nan"], with(func(o *planner.Observations) {
			o.RequestRate = planner.Known(0)
			o.InputTokens, o.OutputTokens, o.TTFT, o.TTFTPercentile, o.ITL, o.ITLPercentile = nan, nan, nan, nan, nan, nan
			o.InputTokensPercentile, o.OutputTokensPercentile = nan, nan
			o.TTFTAttained, o.ITLAttained = nan, nan
			o.ArrivalCV = nan
		})},
		{"+Inf from an override", "inf", cases["inf"], with(func(o *planner.Observations) {
			o.TTFT = planner.Unknown(metrics.ReasonInf)
		})},
		{"400 bad_data from an override", "bad_data", cases["bad_data"], with(func(o *planner.Observations) {
			o.TTFT = planner.Unknown(metrics.ReasonPrometheusError + " (bad_data)")
		})},
		{"override without aggregation: two series", "ambiguous", cases["ambiguous"], with(func(o *planner.Observations) {
			o.QueueDepth = planner.Unknown(metrics.ReasonAmbiguous)
		})},
		{"warnings (remote store down)", "warnings", cases["warnings"], missingAll(metrics.ReasonWarnings)},
		{"503 evaluation timeout", "timeout", cases["ok"], missingAll(metrics.ReasonPrometheusError + " (timeout)")},
		{"502 from a proxy", "proxy_502", cases["ok"], missingAll(metrics.ReasonPrometheusError + " (server_error)")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := replayServer(t, loadFixture(t, tt.fixture), nil)
			a := metrics.New(testOptions())
			o, err := a.Observe(context.Background(), fixturePolicy(t, srv.URL, tt.policy), time.Unix(0, 0))
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if diff := diffObservations(tt.want, o, 0.02); diff != "" {
				t.Errorf("observations (-want +got):\n%s", diff)
			}
		})
	}
}

// TestObserveSlowQuery holds the overridden TTFT query until its client gives up: TTFT is missing
// with a timeout and every other signal (the batched defaults) still arrives, within the tick's
// deadline.
func TestObserveSlowQuery(t *testing.T) {
	c := fixtureCases()[3]
	xs := loadFixture(t, c.name)
	hold := map[string]bool{}
	for _, x := range xs {
		if !strings.Contains(x.Query, metrics.LabelSignal) {
			hold[x.Query] = true
		}
	}
	if len(hold) != 1 {
		t.Fatalf("found %d override queries in fixture %s, want 1", len(hold), c.name)
	}
	srv := replayServer(t, xs, hold)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	o, err := metrics.New(testOptions()).Observe(ctx, fixturePolicy(t, srv.URL, c), time.Unix(0, 0))
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	want := expected(steady())
	want.TTFT = planner.Unknown(metrics.ReasonTimeout)
	if diff := diffObservations(want, o, 0.02); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
}

// TestObserveUnreachable points the policy at a closed port.
func TestObserveUnreachable(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	o, err := metrics.New(metrics.Options{}).Observe(context.Background(), fixturePolicy(t, url, fixtureCases()[0]), time.Unix(0, 0))
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if diff := diffObservations(missingAll(metrics.ReasonUnreachable), o, 0); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
}

// TestObserveRejectsBadTemplates: a query template that cannot be expanded is a configuration
// error, reported by Observe (and CheckQueries) rather than hidden in a missing value.
func TestObserveRejectsBadTemplates(t *testing.T) {
	tests := []struct{ name, query string }{
		{"unknown placeholder", "sum(x{${nope}})"},
		{"quantile outside a percentile signal", "histogram_quantile(${quantile}, x)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPolicy(t, "http://127.0.0.1:1", "llama", "llm-llama", testWindow, "    queries:\n      ttft: '"+tt.query+"'\n")
			if _, err := metrics.New(testOptions()).Observe(context.Background(), p, time.Unix(0, 0)); err == nil {
				t.Error("Observe succeeded, want an error")
			}
			if err := metrics.CheckQueries(p); err == nil {
				t.Error("CheckQueries succeeded, want an error")
			}
		})
	}
}

// TestCheckQueriesAcceptsDefaults checks a policy without overrides expands cleanly.
func TestCheckQueriesAcceptsDefaults(t *testing.T) {
	if err := metrics.CheckQueries(testPolicy(t, "http://127.0.0.1:1", "llama", "llm-llama", testWindow, "")); err != nil {
		t.Errorf("CheckQueries: %v", err)
	}
}
