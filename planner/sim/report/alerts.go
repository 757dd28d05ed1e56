package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/tidal-planner/tidal/planner/sim"
)

// BurnRule is one multi-window burn-rate alert: it fires while the fraction of requests that
// missed the SLO over both the long and the short window exceeds Factor times the error budget
// (1 - objective). The rules and thresholds are those of the Google SRE workbook, ch. 5
// ("Alerting on SLOs"), as deploy/helm/tidal/files/alerts.yaml writes them.
type BurnRule struct {
	Name        string
	Factor      float64
	Long, Short time.Duration
}

// BurnRules are alerts.yaml's two SLO burn-rate alerts: TidalSLOBudgetBurningFast (a page) and
// TidalSLOBudgetBurningSlowly (a ticket). A test in cmd/tidal/ops (TestBurnRulesMirrorTheRuleFile)
// reads them back out of the rule file, so a change to one that misses the other fails.
var BurnRules = [2]BurnRule{
	{Name: "pages", Factor: 14.4, Long: time.Hour, Short: 5 * time.Minute},
	{Name: "tickets", Factor: 6, Long: 6 * time.Hour, Short: 30 * time.Minute},
}

// Firing is how one rule fired over a run: how many times it started firing and for how long it
// fired in all.
type Firing struct {
	Episodes int
	Duration time.Duration
}

// BurnAlerts evaluates rule at every step of a run's series against the error budget
// 1 - objective. A step's misses are (1 - Attainment) x Judged (the requests judged in it that
// missed either latency target); a window's miss ratio weights its steps by their requests, as
// the rule file's recording rules do, and covers the steps ending within it (a window reaching
// before the run holds what the run has). A window without requests does not fire. The rule file
// evaluates tidal's reading of the latency histograms every 30 s, per latency target; this
// evaluates the simulator's true outcomes, both targets together, per step (a minute by default).
func BurnAlerts(s sim.Series, objective float64, rule BurnRule) Firing {
	if s.Step <= 0 || !hasObjective(objective) {
		return Firing{}
	}
	budget := 1 - objective
	steps := func(d time.Duration) int { return max(int(math.Round(float64(d)/float64(s.Step))), 1) }
	long, short := steps(rule.Long), steps(rule.Short)
	// Prefix sums: missed[i] and judged[i] total the first i steps.
	missed, judged := make([]float64, len(s.Judged)+1), make([]float64, len(s.Judged)+1)
	for i, n := range s.Judged {
		m := 0.0
		if a := s.Attainment[i]; n > 0 && !math.IsNaN(a) {
			m = (1 - a) * n
		}
		missed[i+1], judged[i+1] = missed[i]+m, judged[i]+max(n, 0)
	}
	burning := func(end, n int) bool {
		start := max(end-n, 0)
		j := judged[end] - judged[start]
		return j > 0 && (missed[end]-missed[start])/j > rule.Factor*budget
	}
	var f Firing
	was := false
	for end := 1; end < len(missed); end++ {
		now := burning(end, long) && burning(end, short)
		if now {
			f.Duration += s.Step
			if !was {
				f.Episodes++
			}
		}
		was = now
	}
	return f
}

// alerts writes how often each planner's run (the first seed's) would have fired the rule file's
// burn-rate alerts; nothing without an objective.
func alerts(w io.Writer, objective float64, es []Entry) {
	if !hasObjective(objective) || len(es) == 0 {
		return
	}
	var rules []string
	for _, r := range BurnRules {
		rules = append(rules, fmt.Sprintf("%s %gx over %s and %s", r.Name, r.Factor, shortDuration(r.Long), shortDuration(r.Short)))
	}
	fmt.Fprintf(w, "burn-rate alerts at objective %.4g%% (alerts.yaml's rules on each step's requests; times fired, time firing): %s\n",
		100*objective, strings.Join(rules, "; "))
	for _, e := range es {
		var parts []string
		for i, f := range burnFirings(e.Result.Series, objective) {
			parts = append(parts, BurnRules[i].Name+" "+f.String())
		}
		fmt.Fprintf(w, "  %s: %s\n", e.Planner, strings.Join(parts, ", "))
	}
}

// burnFirings evaluates every one of BurnRules on a run's series (BurnAlerts), in their order.
func burnFirings(s sim.Series, objective float64) [len(BurnRules)]Firing {
	var fs [len(BurnRules)]Firing
	for i, r := range BurnRules {
		fs[i] = BurnAlerts(s, objective, r)
	}
	return fs
}

// String is how often and how long a rule fired: "1 (5m)".
func (f Firing) String() string {
	return fmt.Sprintf("%d (%s)", f.Episodes, shortDuration(f.Duration))
}

// alertCell is a Markdown table cell of how often a run fired each of BurnRules, with the time
// firing ("1 (5m) / 0 (0m) |"); empty without an objective.
func alertCell(s sim.Series, objective float64) string {
	if !hasObjective(objective) {
		return ""
	}
	var parts []string
	for _, f := range burnFirings(s, objective) {
		parts = append(parts, f.String())
	}
	return " " + strings.Join(parts, " / ") + " |"
}

// hasObjective says whether objective is one the alerts can judge: a fraction in (0, 1).
func hasObjective(objective float64) bool { return objective > 0 && objective < 1 }

// shortDuration prints a duration in whole minutes without zero units: 1h, 5m, 1h30m, 0m.
func shortDuration(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	switch h := m / 60; {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m%60 == 0:
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dh%dm", h, m%60)
	}
}
