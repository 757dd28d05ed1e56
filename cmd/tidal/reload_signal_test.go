package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	"github.com/tidal-planner/tidal/policies"
)

// TestPolicyWatcherSignalsUnreadablePolicies: an emptied or unreadable policy directory is
// logged and counted once per new problem (not every poll), tidal_policy_source_ok drops to 0
// while it lasts, and the recovery is logged (issue 13, defect 5).
func TestPolicyWatcherSignalsUnreadablePolicies(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.yaml")
	write := func(content string) {
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(reloadPolicy(4))
	var logs bytes.Buffer
	rec := ops.NewRecorder(ops.Options{})
	w := &policyWatcher{path: dir, logger: slog.New(slog.NewTextHandler(&logs, nil)),
		apply: func([]policies.Policy) { rec.Reloaded(true) }, rejected: func(error) { rec.Reloaded(false) },
		unreadable: func(error) { rec.PolicySourceUnreadable() }, healthy: rec.SetPolicySourceOK}
	w.init()
	steps := []struct {
		name       string
		change     func()
		polls      int
		unreadable float64 // tidal_policy_reloads_total{result="unreadable"} after the step
		ok         float64 // tidal_policy_source_ok
		warnings   int     // "cannot read the policies" lines so far
		readable   int     // "readable again" lines so far
	}{
		{"healthy", func() {}, 3, 0, 1, 0, 0},
		{"emptied directory: once, however many polls", func() { _ = os.Remove(file) }, 5, 1, 0, 1, 0},
		{"restored", func() { write(reloadPolicy(4)) }, 2, 1, 1, 1, 1},
		{"directory gone: a new problem", func() { _ = os.RemoveAll(dir) }, 4, 2, 0, 2, 1},
		{"back with a rejected set", func() {
			_ = os.Mkdir(dir, 0o755)
			write(reloadPolicy(0))
		}, 3, 2, 0, 2, 2},
		{"fixed", func() { write(reloadPolicy(5)) }, 2, 2, 1, 2, 2},
	}
	for _, s := range steps {
		s.change()
		for range s.polls {
			w.poll()
		}
		got := []float64{
			gathered(t, rec, "tidal_policy_reloads_total", "unreadable"),
			gathered(t, rec, "tidal_policy_source_ok", ""),
		}
		if got[0] != s.unreadable || got[1] != s.ok {
			t.Errorf("%s: unreadable total %g, source ok %g; want %g, %g", s.name, got[0], got[1], s.unreadable, s.ok)
		}
		if n := strings.Count(logs.String(), "cannot read the policies"); n != s.warnings {
			t.Errorf("%s: %d read warnings logged, want %d:\n%s", s.name, n, s.warnings, logs.String())
		}
		if n := strings.Count(logs.String(), "readable again"); n != s.readable {
			t.Errorf("%s: %d recoveries logged, want %d", s.name, n, s.readable)
		}
	}
}

// gathered returns the value of the series of a metric family whose label values include
// label ("" = the unlabelled series), or 0 when there is none.
func gathered(t *testing.T, rec *ops.Recorder, name, label string) float64 {
	t.Helper()
	mfs, err := rec.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == "" && len(m.GetLabel()) == 0
			for _, l := range m.GetLabel() {
				match = match || l.GetValue() == label
			}
			if !match {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}
