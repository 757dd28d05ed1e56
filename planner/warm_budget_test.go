package planner

import (
	"math"
	"strings"
	"testing"
	"time"
)

// history is n intervals of a 20 req/s load with the given attainment series (nil: none).
func budgetHistory(n int, ttft, itl func(k int) float64) LoadHistory {
	h := LoadHistory{}
	for k := range n {
		h.RequestRate = append(h.RequestRate, 20)
		h.InputTokens = append(h.InputTokens, 2000)
		h.OutputTokens = append(h.OutputTokens, 200)
		if ttft != nil {
			h.TTFTAttained = append(h.TTFTAttained, ttft(k))
			h.ITLAttained = append(h.ITLAttained, itl(k))
		}
	}
	return h
}

func constant(v float64) func(int) float64 { return func(int) float64 { return v } }

// TestWarmBudget replays attainment histories and checks where each charged service's level and
// objective-window spend end: an unspent history loosens, a history over the share tightens and
// spends the window, an unknown one freezes the level, and a shorter attainment series is replayed
// over its own length, aligned on the newest point.
func TestWarmBudget(t *testing.T) {
	p := mustPolicy(t, disaggYAML) // objective 99% over 24 h, interval 60 s
	const prefill, decode = 1, 2
	tests := []struct {
		name       string
		h          LoadHistory
		wantPoints int
		// per service: sign of level - e0, and whether the window's spend reaches the share
		wantLevel [3]int
		wantSpent [3]bool
	}{
		{"every request within target: both loosen", budgetHistory(120, constant(1), constant(1)), 120,
			[3]int{0, 1, 1}, [3]bool{}},
		{"prefill misses 3% of TTFTs: it tightens and spends the window; decode, with none of the budget left, holds", budgetHistory(120, constant(0.97), constant(1)), 120,
			[3]int{0, -1, 0}, [3]bool{false, true, false}},
		{"prefill misses 0.5% of TTFTs: half the budget is left, and both loosen", budgetHistory(120, constant(0.995), constant(1)), 120,
			[3]int{0, 1, 1}, [3]bool{}},
		{"attainment unknown: frozen at the initial level", budgetHistory(120, constant(math.NaN()), constant(math.NaN())), 120,
			[3]int{0, 0, 0}, [3]bool{}},
		{"no attainment history: nothing replayed", budgetHistory(120, nil, nil), 0,
			[3]int{0, 0, 0}, [3]bool{}},
		{"no ITL series (its read failed): prefill replayed alone", func() LoadHistory {
			h := budgetHistory(120, constant(0.97), constant(1))
			h.ITLAttained = nil
			return h
		}(), 120, [3]int{0, -1, 0}, [3]bool{false, true, false}},
		{"attainment for the last 30 intervals only", func() LoadHistory {
			h := budgetHistory(120, constant(1), constant(1))
			h.TTFTAttained, h.ITLAttained = h.TTFTAttained[90:], h.ITLAttained[90:]
			return h
		}(), 30, [3]int{0, 1, 1}, [3]bool{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0)})
			if got := st.WarmBudget(p, tc.h); got != tc.wantPoints {
				t.Errorf("replayed %d points, want %d", got, tc.wantPoints)
			}
			for _, j := range []int{prefill, decode} {
				k := st.services[j].risk
				if got := sign(k.level() - defaultRisk); got != tc.wantLevel[j] {
					t.Errorf("%s: level %g, want sign %d against %g", p.ServiceAt(j).Name, k.level(), tc.wantLevel[j], defaultRisk)
				}
				if got := k.spent() >= st.shareOf(p, j).charged; got != tc.wantSpent[j] {
					t.Errorf("%s: window spend %g against share %g: spent %v, want %v", p.ServiceAt(j).Name,
						k.spent(), st.shareOf(p, j).charged, got, tc.wantSpent[j])
				}
			}
		})
	}
}

// TestWarmBudgetKeepsASpentWindow is why the replay exists: after a restart, a prefill service
// whose objective window is already spent must not loosen on its first quiet interval, as it
// would from an empty window.
func TestWarmBudgetKeepsASpentWindow(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	spent := budgetHistory(600, constant(0.97), constant(1))
	tests := []struct {
		name   string
		replay bool
		want   Code
	}{
		{"restarted without the replay: loosens", false, CodeRiskLoosened},
		{"restarted with the replay: holds", true, CodeRiskHeld},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0)})
			st.Warm(spent)
			if tc.replay {
				st.WarmBudget(p, spent)
			}
			obs := steady(t0, 20, map[string]int32{"Frontend": 1, "Prefill": 2, "Decode": 2})
			obs.TTFTAttained, obs.ITLAttained = Known(1), Known(1)
			d := Plan(t0, obs, p, &st)
			sd, _ := d.Service("Prefill")
			var got Code
			for _, r := range sd.Reasons {
				if r.Step == StepErrorBudget {
					got = r.Code
					break
				}
			}
			if got != tc.want {
				t.Errorf("first live error-budget code %q, want %q (budget %+v)", got, tc.want, sd.Budget)
			}
		})
	}
}

// TestBudgetSummary: one clause per charged service, the frontend left out, the numbers the
// state holds.
func TestBudgetSummary(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0)})
	want := "Prefill: level 0.05 (reserve quantile 0.95), objective window 0.00x its share spent; " +
		"Decode: level 0.05 (reserve quantile 0.95), objective window 0.00x its share spent"
	if got := st.BudgetSummary(p); got != want {
		t.Errorf("BudgetSummary = %q, want %q", got, want)
	}
	st.WarmBudget(p, budgetHistory(10, constant(0.98), constant(1)))
	if got := st.BudgetSummary(p); got == want || !strings.Contains(got, "Prefill: level 0.0") {
		t.Errorf("after a replay with misses, BudgetSummary = %q: want prefill's level moved from %q", got, want)
	}
}
