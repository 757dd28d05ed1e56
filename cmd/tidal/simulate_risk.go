package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim/report"
)

// riskTrack follows tidal's error budget over the first seed's decisions: per service, the reserve
// quantile the error-budget step left (its reason's Limit) and how often each outcome occurred,
// so `tidal simulate` shows what the controller did and not only where it ended.
type riskTrack struct {
	order    []string
	services map[string]*riskSummary
}

// riskSummary is one service's error-budget history.
type riskSummary struct {
	codes            map[planner.Code]int
	times, quantiles []float64 // per decision: seconds from simEpoch, the quantile left
	waitScaled       int       // decisions that shrank prefill's queue term (wait-scaled)
	minWait          float64   // the smallest multiplier among them
	raised           int       // decisions that raised decode's utilisation ceiling (utilisation-raised)
	maxUtilisation   float64   // the highest ceiling among them
}

// simEpoch is the simulated clock's t = 0: the workload's start.
var simEpoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// record reads one decision's error-budget reasons.
func (t *riskTrack) record(d planner.Decision) {
	for _, s := range d.Services {
		for _, r := range s.Reasons {
			if r.Step != planner.StepErrorBudget {
				continue
			}
			t.summary(s.Name).add(r, d.Time.Sub(simEpoch).Seconds())
		}
	}
}

func (t *riskTrack) summary(name string) *riskSummary {
	if t.services == nil {
		t.services = map[string]*riskSummary{}
	}
	s, ok := t.services[name]
	if !ok {
		s = &riskSummary{codes: map[planner.Code]int{}}
		t.services[name] = s
		t.order = append(t.order, name)
	}
	return s
}

func (s *riskSummary) add(r planner.Reason, at float64) {
	switch r.Code { // a second reason of the same decision, not a level
	case planner.CodeWaitScaled:
		if s.waitScaled == 0 || r.Value < s.minWait {
			s.minWait = r.Value
		}
		s.waitScaled++
		return
	case planner.CodeUtilisationRaised:
		s.maxUtilisation = max(s.maxUtilisation, r.Value)
		s.raised++
		return
	}
	s.times, s.quantiles = append(s.times, at), append(s.quantiles, r.Limit)
	s.codes[r.Code]++
}

// series returns each service's quantile over time for the HTML report.
func (t *riskTrack) series() []report.RiskSeries {
	out := make([]report.RiskSeries, 0, len(t.order))
	for _, name := range t.order {
		s := t.services[name]
		out = append(out, report.RiskSeries{Service: name, Time: s.times, Quantile: s.quantiles})
	}
	return out
}

// write prints one line per service, e.g. "VllmPrefillWorker: reserve quantile 0.95 -> 0.99
// (0.70..0.99); tightened 35, loosened 120, held 10, frozen 2 of 360 decisions".
func (t *riskTrack) write(w io.Writer, objective float64) {
	if len(t.order) == 0 {
		return
	}
	fmt.Fprintf(w, "tidal's error budget (objective %.4g%%, first seed):\n", 100*objective)
	for _, name := range t.order {
		s := t.services[name]
		var parts []string
		for _, c := range []struct {
			code planner.Code
			word string
		}{{planner.CodeRiskTightened, "tightened"}, {planner.CodeRiskLoosened, "loosened"},
			{planner.CodeRiskHeld, "held"}, {planner.CodeRiskFrozen, "frozen"}} {
			parts = append(parts, fmt.Sprintf("%s %d", c.word, s.codes[c.code]))
		}
		q := s.quantiles
		wait := ""
		if s.waitScaled > 0 {
			wait = fmt.Sprintf("; queue term shrunk in %d (down to x%.2g)", s.waitScaled, s.minWait)
		}
		if s.raised > 0 {
			wait += fmt.Sprintf("; utilisation ceiling raised in %d (up to %.3g)", s.raised, s.maxUtilisation)
		}
		fmt.Fprintf(w, "  %s: reserve quantile %.3g -> %.3g (%.3g..%.3g); %s of %d decisions%s\n",
			name, q[0], q[len(q)-1], slices.Min(q), slices.Max(q), strings.Join(parts, ", "), len(q), wait)
	}
}
