package planner_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// TestLoopLogWording checks the log lines a new user reads first: "decision changed" only when
// something is to be written, and "backfilled" only when history came back.
func TestLoopLogWording(t *testing.T) {
	tests := []struct {
		name     string
		history  int
		desired  int32
		want     []string
		wantNone []string
	}{
		{name: "history came back", history: 40, desired: 2, want: []string{`msg="backfilled the forecast history"`, "points=40"}},
		{name: "no history yet", history: 0, desired: 2,
			want: []string{`msg="Prometheus has no load history for this policy yet; its forecasts start cold"`}, wantNone: []string{"backfilled"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logs := runLogged(t, tc.history, tc.desired)
			for _, s := range tc.want {
				if !strings.Contains(logs, s) {
					t.Errorf("the log lacks %q:\n%s", s, logs)
				}
			}
			for _, s := range tc.wantNone {
				if strings.Contains(logs, s) {
					t.Errorf("the log has %q:\n%s", s, logs)
				}
			}
		})
	}
	// Over several starting replica counts, some first decision needs no write: none may say
	// "decision changed" with outcome=no-change, and such a first decision is still logged once.
	noChange := 0
	for desired := int32(1); desired <= 4; desired++ {
		for line := range strings.SplitSeq(runLogged(t, 0, desired), "\n") {
			if !strings.Contains(line, "outcome=no-change") {
				continue
			}
			noChange++
			if strings.Contains(line, `msg="decision changed"`) {
				t.Errorf("starting at %d replicas: %s", desired, line)
			}
		}
	}
	if noChange == 0 {
		t.Error("no first decision needed no write: the check above checked nothing")
	}
}

// runLogged runs one tick of an apply policy at desired replicas with history points of backfill,
// and returns the Info log.
func runLogged(t *testing.T, points int, desired int32) string {
	t.Helper()
	var buf syncBuffer
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, func(c *planner.LoopConfig) {
			c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
			c.History = history{n: points}
			if points == 0 {
				c.History = noHistory{}
			}
		})
		h.cluster.desired["p"] = desired
		h.update(t, loopPolicy(t, "p", "apply", 15*time.Second, 2))
		h.ticks.next(t)
		h.stop()
	})
	return buf.String()
}

// noHistory is a Prometheus without any load history yet.
type noHistory struct{}

func (noHistory) History(context.Context, policies.Policy, time.Time) (planner.LoadHistory, error) {
	return planner.LoadHistory{}, nil
}

func TestLoopLogFoldsARepeatedMissingReason(t *testing.T) {
	synctest.Test(t, loopLogFoldsARepeatedMissingReason)
}

func loopLogFoldsARepeatedMissingReason(t *testing.T) {
	var buf syncBuffer
	h := newHarness(t, func(c *planner.LoopConfig) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	h.obs.mu.Lock()
	h.obs.err = map[string]error{"p": errors.New("dial tcp 10.0.0.1:9090: connect: connection refused")}
	h.obs.mu.Unlock()
	h.cluster.desired["p"] = 2
	h.update(t, loopPolicy(t, "p", "apply", 15*time.Second, 2))
	h.ticks.next(t)
	h.stop()
	for line := range strings.SplitSeq(buf.String(), "\n") {
		if !strings.Contains(line, "msg=decision") {
			continue
		}
		if n := strings.Count(line, "connection refused"); n != 1 {
			t.Errorf("the decision line repeats the dial error %d times, want once:\n%s", n, line)
		}
		if !strings.Contains(line, "observe/missing: requestRate, inputTokens, outputTokens") {
			t.Errorf("the decision line does not name the missing signals together:\n%s", line)
		}
	}
}
