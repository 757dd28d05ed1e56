package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim/report"
)

func TestRiskTrack(t *testing.T) {
	dec := func(code planner.Code, q float64) planner.Decision {
		return planner.Decision{Services: []planner.ServiceDecision{
			{Name: "Prefill", Reasons: []planner.Reason{{Step: planner.StepErrorBudget, Code: code, Limit: q}, {Step: planner.StepSize, Code: planner.CodeSized}}},
			{Name: "Frontend", Reasons: []planner.Reason{{Step: planner.StepSize, Code: planner.CodeSized}}},
		}}
	}
	scaled := func(q, w, e float64) planner.Decision {
		d := dec(planner.CodeRiskLoosened, q)
		d.Services[0].Reasons = append(d.Services[0].Reasons, planner.Reason{Step: planner.StepErrorBudget, Code: planner.CodeWaitScaled, Value: w, Limit: e})
		return d
	}
	tests := []struct {
		name string
		ds   []planner.Decision
		want string
	}{
		{name: "no error-budget reasons print nothing", ds: []planner.Decision{{}}, want: ""},
		{
			name: "first, last, range and counts",
			ds: []planner.Decision{dec(planner.CodeRiskTightened, 0.96), dec(planner.CodeRiskTightened, 0.99),
				dec(planner.CodeRiskLoosened, 0.98), dec(planner.CodeRiskFrozen, 0.98)},
			want: "tidal's error budget (objective 99%, first seed):\n" +
				"  Prefill: reserve quantile 0.96 -> 0.98 (0.96..0.99); tightened 2, loosened 1, held 0, frozen 1 of 4 decisions\n",
		},
		{
			name: "a shrunk queue term is counted, not read as a level",
			ds:   []planner.Decision{dec(planner.CodeRiskLoosened, 0.7), scaled(0.7, 0.8, 0.4), scaled(0.7, 0.6, 0.5)},
			want: "tidal's error budget (objective 99%, first seed):\n" +
				"  Prefill: reserve quantile 0.7 -> 0.7 (0.7..0.7); tightened 0, loosened 3, held 0, frozen 0 of 3 decisions; queue term shrunk in 2 (down to x0.6)\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr riskTrack
			for _, d := range tc.ds {
				tr.record(d)
			}
			var b strings.Builder
			tr.write(&b, 0.99)
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRiskSeries checks the report's plot data: each decision's quantile at its seconds from the
// simulated clock's start, per service, services in first-seen order.
func TestRiskSeries(t *testing.T) {
	dec := func(min int, q float64) planner.Decision {
		return planner.Decision{Time: simEpoch.Add(time.Duration(min) * time.Minute), Services: []planner.ServiceDecision{
			{Name: "Prefill", Reasons: []planner.Reason{{Step: planner.StepErrorBudget, Code: planner.CodeRiskHeld, Limit: q}}},
			{Name: "Decode", Reasons: []planner.Reason{{Step: planner.StepErrorBudget, Code: planner.CodeRiskLoosened, Limit: q - 0.1}}},
		}}
	}
	var tr riskTrack
	for i, q := range []float64{0.95, 0.97, 0.9} {
		tr.record(dec(i+1, q))
	}
	want := []report.RiskSeries{
		{Service: "Prefill", Time: []float64{60, 120, 180}, Quantile: []float64{0.95, 0.97, 0.9}},
		{Service: "Decode", Time: []float64{60, 120, 180}, Quantile: []float64{0.85, 0.87, 0.8}},
	}
	if diff := cmp.Diff(want, tr.series(), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}
