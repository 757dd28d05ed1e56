package planner

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestDecisionReportsErrorBudget checks the error-budget state each ServiceDecision carries, the
// numbers behind tidal_error_budget_* and /debug/decisions: a frontend is not charged; prefill is
// charged the TTFT misses and decode the ITL misses, each against its share of the 1% budget (the
// whole of it while the other spends nothing); a missing attainment freezes the level and leaves
// the burn and the spend unmeasured.
func TestDecisionReportsErrorBudget(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	const share = 0.01 // 1 - the default 99% objective, nothing spent by the other service
	tests := []struct {
		name       string
		ttft, itl  Value
		wantByName map[string]ErrorBudget
	}{
		{
			name: "every request within both targets",
			ttft: Known(1), itl: Known(1),
			wantByName: map[string]ErrorBudget{
				"Frontend": {},
				"Prefill":  {Known: true, Measured: true, Share: share},
				"Decode":   {Known: true, Measured: true, Share: share},
			},
		},
		{
			name: "prefill misses 2% of TTFTs: twice its share, burning",
			ttft: Known(0.98), itl: Known(1),
			wantByName: map[string]ErrorBudget{
				"Frontend": {},
				"Prefill":  {Known: true, Measured: true, Share: share, Burn: 2, Spent: 2},
				// decode's share is what prefill has not spent, at least half of an equal split
				"Decode": {Known: true, Measured: true, Share: share / 4},
			},
		},
		{
			name: "attainment not reported: the level is frozen, nothing measured",
			ttft: Unknown("no histogram"), itl: Unknown("no histogram"),
			wantByName: map[string]ErrorBudget{
				"Frontend": {},
				"Prefill":  {Known: true, Share: share},
				"Decode":   {Known: true, Share: share},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0)})
			obs := steady(t0, 20, map[string]int32{"Frontend": 1, "Prefill": 2, "Decode": 2})
			obs.TTFTAttained, obs.ITLAttained = tc.ttft, tc.itl
			d := Plan(t0, obs, p, &st)
			for name, want := range tc.wantByName {
				sd, ok := d.Service(name)
				if !ok {
					t.Fatalf("no decision for %s", name)
				}
				got := sd.Budget
				if want.Known {
					// The level is the controller's to move (TestRiskUpdate); here it must be the
					// one the reasons report, and the quantile must follow it.
					svc, _ := p.Service(name)
					loosest := loosestReserve(svc.Role)
					if got.Risk <= 0 || got.ReserveQuantile != 1-min(got.Risk, loosest) {
						t.Errorf("%s: risk %g, reserve quantile %g: want a level and 1 - min(level, %g)", name, got.Risk, got.ReserveQuantile, loosest)
					}
					want.Risk, want.ReserveQuantile = got.Risk, got.ReserveQuantile
				}
				if diff := cmp.Diff(want, got, cmpopts.EquateApprox(1e-9, 1e-12)); diff != "" {
					t.Errorf("%s: budget (-want +got):\n%s", name, diff)
				}
			}
		})
	}
}

// TestErrorBudgetLevelMatchesReasons checks that the state a decision reports is the level its
// error-budget reason states (Limit = the reserve quantile), over a run that tightens and loosens.
func TestErrorBudgetLevelMatchesReasons(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0)})
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for m := range 40 {
		now := t0.Add(time.Duration(m) * time.Minute)
		obs := steady(now, 20, map[string]int32{"Frontend": 1, "Prefill": 2, "Decode": 2})
		obs.TTFTAttained, obs.ITLAttained = Known(1), Known(1)
		if m >= 10 && m < 15 {
			obs.TTFTAttained = Known(0.9)
		}
		d := Plan(now, obs, p, &st)
		sd, _ := d.Service("Prefill")
		limit := math.NaN()
		for _, r := range sd.Reasons {
			if r.Step == StepErrorBudget && (r.Code == CodeRiskTightened || r.Code == CodeRiskLoosened || r.Code == CodeRiskHeld) {
				limit = r.Limit
			}
		}
		if limit != sd.Budget.ReserveQuantile {
			t.Fatalf("minute %d: the reason's quantile %g, the decision's %g", m, limit, sd.Budget.ReserveQuantile)
		}
	}
}
