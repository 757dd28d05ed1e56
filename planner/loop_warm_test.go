package planner_test

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// gatedHistory sends each backfilled policy's name on entered, then returns no history once a
// token arrives on release (or its context ends).
type gatedHistory struct {
	entered chan string
	release chan struct{}
}

func (g gatedHistory) History(ctx context.Context, p policies.Policy, now time.Time) (planner.LoadHistory, error) {
	g.entered <- p.Name
	select {
	case <-g.release:
	case <-ctx.Done():
		return planner.LoadHistory{}, ctx.Err()
	}
	return planner.LoadHistory{}, nil
}

// TestLoopBoundsConcurrentBackfills: at most LoopConfig.Backfills policies read their history
// at once (each holds its whole history while it feeds it), the next starts as one finishes,
// and every policy still warms and ticks.
func TestLoopBoundsConcurrentBackfills(t *testing.T) {
	tests := []struct {
		name       string
		backfills  int
		policies   int
		wantAtOnce int
	}{
		{name: "two at a time", backfills: 2, policies: 5, wantAtOnce: 2},
		{name: "default", backfills: 0, policies: planner.DefaultBackfills + 3, wantAtOnce: planner.DefaultBackfills},
		{name: "fewer policies than slots", backfills: 8, policies: 3, wantAtOnce: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, inBubble(func(t *testing.T) {
			g := gatedHistory{entered: make(chan string, tc.policies), release: make(chan struct{})}
			h := newHarness(t, func(c *planner.LoopConfig) { c.History, c.Backfills = g, tc.backfills })
			var ps []policies.Policy
			for i := range tc.policies {
				name := fmt.Sprintf("p%d", i)
				h.cluster.desired[name] = 2
				ps = append(ps, loopPolicy(t, name, "apply", 15*time.Second, 2))
			}
			h.update(t, ps...)
			synctest.Wait()
			if got := len(g.entered); got != tc.wantAtOnce {
				t.Fatalf("%d backfills in progress at once, want %d", got, tc.wantAtOnce)
			}
			if tc.policies > tc.wantAtOnce {
				g.release <- struct{}{} // one finishes: exactly one more starts
				synctest.Wait()
				if got := len(g.entered); got != tc.wantAtOnce+1 {
					t.Fatalf("after one backfill finished, %d started, want %d", got, tc.wantAtOnce+1)
				}
			}
			close(g.release)
			ticked := map[string]bool{}
			for range tc.policies {
				ticked[h.ticks.next(t).Policy.Name] = true
			}
			want := map[string]bool{}
			for _, p := range ps {
				want[p.Name] = true
			}
			if diff := cmp.Diff(want, ticked); diff != "" {
				t.Errorf("policies that ticked after their backfill (-want +got):\n%s", diff)
			}
			if got := len(g.entered); got != tc.policies {
				t.Errorf("%d policies backfilled, want %d", got, tc.policies)
			}
		}))
	}
}

// fixedHistory returns the same history for every policy.
type fixedHistory planner.LoadHistory

func (f fixedHistory) History(context.Context, policies.Policy, time.Time) (planner.LoadHistory, error) {
	return planner.LoadHistory(f), nil
}

// TestLoopReplaysTheErrorBudget: the loop replays the error budget over the backfilled
// attainment before the first tick (State.WarmBudget), so a worker whose history missed its SLO
// starts tighter than the initial level; a history without attainment leaves that level.
func TestLoopReplaysTheErrorBudget(t *testing.T) {
	history := func(attained float64, withAttainment bool) fixedHistory {
		var h planner.LoadHistory
		for range 120 {
			h.RequestRate = append(h.RequestRate, 10)
			h.InputTokens = append(h.InputTokens, 1000)
			h.OutputTokens = append(h.OutputTokens, 100)
			if withAttainment {
				h.TTFTAttained = append(h.TTFTAttained, attained)
				h.ITLAttained = append(h.ITLAttained, 1)
			}
		}
		return fixedHistory(h)
	}
	tests := []struct {
		name      string
		h         fixedHistory
		wantRisk  func(float64) bool
		wantWords string
	}{
		{"no attainment history: the initial level", history(1, false), func(e float64) bool { return e == 0.05 }, "= 0.05"},
		{"5% of TTFTs missed: tighter", history(0.95, true), func(e float64) bool { return e < 0.05 }, "< 0.05"},
		{"every request within target: looser", history(1, true), func(e float64) bool { return e > 0.05 }, "> 0.05"},
	}
	for _, tc := range tests {
		t.Run(tc.name, inBubble(func(t *testing.T) {
			h := newHarness(t, func(c *planner.LoopConfig) { c.History = tc.h })
			h.cluster.desired["p"] = 2
			h.update(t, loopPolicy(t, "p", "apply", 15*time.Second, 2))
			tk := h.ticks.next(t)
			s, ok := tk.Decision.Service("Worker")
			if !ok {
				t.Fatalf("no Worker decision in the first tick (outcome %s, errors %v)", tk.Outcome, tk.Errors)
			}
			if !s.Budget.Known || !tc.wantRisk(s.Budget.Risk) {
				t.Errorf("first tick's error budget %+v: want a level %s", s.Budget, tc.wantWords)
			}
		}))
	}
}
