package ops_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	"github.com/tidal-planner/tidal/planner"
)

func TestReady(t *testing.T) {
	boom := errors.New("dial tcp 10.0.0.1:9090: connection refused")
	failedAt := func(stage planner.Stage) func(planner.Tick) planner.Tick {
		return func(tk planner.Tick) planner.Tick {
			tk.Outcome, tk.Errors = planner.OutcomeNoChange, []planner.TickError{{Stage: stage, Err: boom}}
			return tk
		}
	}
	ok := func(tk planner.Tick) planner.Tick { return tk }
	backfillRecord := func(tk planner.Tick) planner.Tick { // as planner.Loop.warm records it
		return planner.Tick{Policy: tk.Policy, Time: tk.Time, Outcome: planner.OutcomeFailed,
			Errors: []planner.TickError{{Stage: planner.StageHistory, Err: boom}}}
	}
	panicked := func(tk planner.Tick) planner.Tick {
		tk.Outcome, tk.Errors = planner.OutcomeFailed, []planner.TickError{{Stage: planner.StagePlan, Err: errors.New("panic: x")}}
		return tk
	}
	tests := []struct {
		name        string
		ticked      bool
		ticks       map[string][]func(planner.Tick) planner.Tick // per policy, in order
		wantErr     string
		wantOK      []string
		wantFailing []string
	}{
		{name: "before the first ticks", ticked: false, wantErr: "not every policy has completed its first tick"},
		{name: "every tick succeeds", ticked: true, ticks: map[string][]func(planner.Tick) planner.Tick{"a": {ok}, "b": {ok}},
			wantOK: []string{"a", "b"}},
		{name: "every policy's reads fail", ticked: true,
			ticks:   map[string][]func(planner.Tick) planner.Tick{"a": {failedAt(planner.StageReplicas)}, "b": {failedAt(planner.StageObserve)}},
			wantErr: "the last tick of every policy failed (a, b)", wantFailing: []string{"a", "b"}},
		{name: "every write fails", ticked: true, ticks: map[string][]func(planner.Tick) planner.Tick{"a": {ok, failedAt(planner.StageApply)}},
			wantErr: "the last tick of every policy failed (a)", wantFailing: []string{"a"}},
		{name: "plan panics", ticked: true, ticks: map[string][]func(planner.Tick) planner.Tick{"a": {panicked}},
			wantErr: "failed (a)", wantFailing: []string{"a"}},
		{name: "one failing policy among good ones stays ready", ticked: true,
			ticks:  map[string][]func(planner.Tick) planner.Tick{"a": {ok}, "b": {failedAt(planner.StageApply)}},
			wantOK: []string{"a"}, wantFailing: []string{"b"}},
		{name: "recovered", ticked: true, ticks: map[string][]func(planner.Tick) planner.Tick{"a": {failedAt(planner.StageObserve), ok}},
			wantOK: []string{"a"}},
		{name: "a backfill error alone is not a failure", ticked: true, ticks: map[string][]func(planner.Tick) planner.Tick{"a": {failedAt(planner.StageHistory)}},
			wantOK: []string{"a"}},
		{name: "the loop's backfill record is not a failed tick", ticked: true, ticks: map[string][]func(planner.Tick) planner.Tick{"a": {backfillRecord}},
			wantOK: []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ops.NewRecorder(ops.Options{})
			for name, fs := range tc.ticks {
				p := policy(t, name)
				for i, f := range fs {
					r.Record(f(tick(p, t0.Add(time.Duration(i)*time.Minute), 1, 1)))
				}
			}
			err := r.Ready(tc.ticked)
			if (err != nil) != (tc.wantErr != "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Ready = %v, want an error containing %q", err, tc.wantErr)
			}
			good, bad := r.TickHealth()
			if diff := cmp.Diff(tc.wantOK, good); diff != "" {
				t.Errorf("succeeding (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantFailing, bad); diff != "" {
				t.Errorf("failing (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPolicySeries(t *testing.T) {
	r := ops.NewRecorder(ops.Options{})
	p := policy(t, "a")
	r.Record(tick(p, t0, 1, 2, planner.TickError{Stage: planner.StageApply, Err: errors.New("forbidden")}))
	const want = `
# HELP tidal_last_tick_succeeded 1 when the policy's last tick decided and nothing it read or wrote failed, else 0.
# TYPE tidal_last_tick_succeeded gauge
tidal_last_tick_succeeded{policy="a"} 0
# HELP tidal_slo_target_seconds The policy's latency target, by the observed signal it bounds (ttftPercentile, itlPercentile) and its percentile.
# TYPE tidal_slo_target_seconds gauge
tidal_slo_target_seconds{percentile="90",policy="a",signal="ttftPercentile"} 0.5
tidal_slo_target_seconds{percentile="90",policy="a",signal="itlPercentile"} 0.03
`
	names := []string{"tidal_last_tick_succeeded", "tidal_slo_target_seconds", "tidal_budget_gpus"}
	if err := testutil.GatherAndCompare(r.Registry(), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	r.Record(tick(p, t0.Add(time.Minute), 2, 2))
	recovered := strings.Replace(want, `tidal_last_tick_succeeded{policy="a"} 0`, `tidal_last_tick_succeeded{policy="a"} 1`, 1)
	if err := testutil.GatherAndCompare(r.Registry(), strings.NewReader(recovered), names...); err != nil {
		t.Errorf("after a clean tick: %v", err)
	}
}
