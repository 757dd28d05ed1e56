package ops_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/planner/sim/report"
)

var (
	// burnCondition is one half of a burn-rate alert: a miss ratio over the budget, above a factor.
	burnCondition = regexp.MustCompile(`(tidal:slo_miss:ratio_\w+) / on \(policy\) group_left tidal:slo_error_budget:ratio > ([0-9.]+)`)
	// rangeSelector is a range selector's duration.
	rangeSelector = regexp.MustCompile(`\[(\w+)\]`)
)

// TestBurnRulesMirrorTheRuleFile reads the shipped rule file's two burn-rate alerts back into the
// form of report.BurnRules (what tidal simulate evaluates), so that a threshold or window changed
// in one place and not the other fails here instead of making tidal simulate's alert counts
// quietly disagree with what would page.
// Each alert's windows are read from the recording rules it compares, not from their names.
func TestBurnRulesMirrorTheRuleFile(t *testing.T) {
	f := readRules(t)
	windows := map[string]time.Duration{} // recorded ratio -> the window its range selectors cover
	exprs := map[string]string{}          // alert -> expression
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				exprs[r.Alert] = r.Expr
				continue
			}
			if w, ok := ratioWindow(t, r.Expr); ok {
				windows[r.Record] = w
			}
		}
	}
	var got []report.BurnRule
	for _, a := range []struct{ alert, name string }{
		{"TidalSLOBudgetBurningFast", "pages"}, {"TidalSLOBudgetBurningSlowly", "tickets"},
	} {
		expr, ok := exprs[a.alert]
		if !ok {
			t.Fatalf("%s has no alert %s", alertsFile, a.alert)
		}
		got = append(got, burnRule(t, a.name, expr, windows))
	}
	if diff := cmp.Diff(report.BurnRules[:], got); diff != "" {
		t.Errorf("BurnRules differ from %s (-BurnRules +rule file):\n%s", alertsFile, diff)
	}
}

// ratioWindow returns the one window every range selector of expr covers, if it has any.
func ratioWindow(t *testing.T, expr string) (time.Duration, bool) {
	t.Helper()
	var w time.Duration
	for _, m := range rangeSelector.FindAllStringSubmatch(expr, -1) {
		d, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatalf("range selector [%s] in %q: %v", m[1], expr, err)
		}
		if w != 0 && d != w {
			t.Fatalf("%q mixes windows %s and %s", expr, w, d)
		}
		w = d
	}
	return w, w != 0
}

// burnRule reads one alert's expression: two conditions on recorded ratios with one factor.
func burnRule(t *testing.T, name, expr string, windows map[string]time.Duration) report.BurnRule {
	t.Helper()
	ms := burnCondition.FindAllStringSubmatch(expr, -1)
	if len(ms) != 2 {
		t.Fatalf("%s: want two burn conditions, found %d in %q", name, len(ms), expr)
	}
	r := report.BurnRule{Name: name}
	var ws []time.Duration
	for _, m := range ms {
		w, ok := windows[m[1]]
		if !ok {
			t.Fatalf("%s reads %s, which no recording rule with a window records", name, m[1])
		}
		factor, err := strconv.ParseFloat(m[2], 64)
		if err != nil || (r.Factor != 0 && factor != r.Factor) {
			t.Fatalf("%s: factor %q (err %v), another condition has %g", name, m[2], err, r.Factor)
		}
		r.Factor, ws = factor, append(ws, w)
	}
	r.Long, r.Short = max(ws[0], ws[1]), min(ws[0], ws[1])
	return r
}
