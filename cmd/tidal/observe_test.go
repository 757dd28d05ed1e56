package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// scriptedObserver returns its observations in turn.
type scriptedObserver struct{ obs []planner.Observations }

func (s *scriptedObserver) Observe(context.Context, policies.Policy, time.Time) (planner.Observations, error) {
	o := s.obs[0]
	s.obs = s.obs[1:]
	return o, nil
}

// TestWatchedObserverSignalsPrometheusFailures: every failed tick is counted in
// tidal_errors_total{stage="observe",kind}; the start, change and end of a failure are logged
// once each; missing data (NaN) is neither (issue 13, defect 5).
func TestWatchedObserverSignalsPrometheusFailures(t *testing.T) {
	ok := planner.Observations{RequestRate: planner.Known(3)}
	down := planner.Observations{RequestRate: planner.Unknown(metrics.ReasonUnreachable + ": connection refused")}
	fiveXX := planner.Observations{RequestRate: planner.Unknown(metrics.ReasonPrometheusError + " (server_error): 503")}
	nan := planner.Observations{RequestRate: planner.Unknown(metrics.ReasonNaN)}
	var logs bytes.Buffer
	rec := ops.NewRecorder(ops.Options{})
	w := &watchedObserver{next: &scriptedObserver{obs: []planner.Observations{ok, down, down, down, fiveXX, nan, ok}},
		rec: rec, logger: slog.New(slog.NewTextHandler(&logs, nil))}
	p := policies.Policy{Name: "p"}
	for range 7 {
		if _, err := w.Observe(context.Background(), p, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	for kind, want := range map[string]float64{metrics.KindUnreachable: 3, "prometheus-server_error": 1} {
		if got := gathered(t, rec, "tidal_errors_total", kind); got != want {
			t.Errorf("tidal_errors_total{kind=%q} = %g, want %g", kind, got, want)
		}
	}
	for msg, want := range map[string]int{"Prometheus reads failed": 2, "Prometheus answers again": 1} {
		if n := strings.Count(logs.String(), msg); n != want {
			t.Errorf("%d %q lines, want %d:\n%s", n, msg, want, logs.String())
		}
	}
}
