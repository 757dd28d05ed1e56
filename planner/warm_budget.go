package planner

import (
	"fmt"
	"math"
	"strings"

	"github.com/tidal-planner/tidal/policies"
)

// WarmBudget replays the error-budget controller over the history's attainment (LoadHistory's
// TTFTAttained and ITLAttained, one point per planning interval, with the request rate of the
// same intervals) as Plan would have run it, so that a planner that restarts, or a replica that
// takes over the lease, resumes with the objective window's spend and a level near the one the
// running controller had, instead of an empty window at the initial level: an empty window
// would let the level loosen at once where the day's budget is already spent.
//
// Every charged service is updated per point in Plan's order (planOrder: decode last, its share
// read from what the others have spent). The history does not say when replicas were starting, so misses
// that the live controller held on (the lead time's) tighten here: the replay errs on the tight
// side. A point whose attainment or rate is unknown freezes the level, as it does live: where one
// attainment series is missing or shorter (its read failed), the services charged with it keep
// their level over those points. Warm first, then WarmBudget, on a State just built; it returns
// the number of points replayed. It is pure.
func (st *State) WarmBudget(p policies.Policy, h LoadHistory) int {
	st.syncServices(p)
	n := min(max(len(h.TTFTAttained), len(h.ITLAttained)), len(h.RequestRate))
	dt := p.Planning.Interval
	for k := range n {
		back := n - k // points from the newest, 1 = the newest
		t, i := historyAttained(h.TTFTAttained, back), historyAttained(h.ITLAttained, back)
		reqs := 0.0
		if r := h.RequestRate[len(h.RequestRate)-back]; r > 0 && !math.IsInf(r, 0) {
			reqs = r * dt.Seconds()
		}
		for j, svc := range planOrder(p) {
			if charged(svc.Role) {
				a := chargedAttainment(svc.Role, t, i)
				st.services[j].risk.update(a, reqs, st.shareOf(p, j), dt, p.SLO.ObjectiveWindow, false, maxWaitRisk)
			}
		}
	}
	return n
}

// historyAttained is the point of an attainment history back points from its newest: a fraction
// in [0, 1], else (or where the series is shorter) unknown.
func historyAttained(series []float64, back int) Value {
	if back > len(series) {
		return Unknown("no attainment in the history")
	}
	if v := series[len(series)-back]; v >= 0 && v <= 1 {
		return Known(v)
	}
	return Unknown("no attainment in the history")
}

// BudgetSummary describes each charged service's error-budget state in one line, for logs: its
// level, reserve quantile and the objective window's spend over its share.
func (st *State) BudgetSummary(p policies.Policy) string {
	st.syncServices(p)
	var b strings.Builder
	for j := range p.NumServices() {
		svc := p.ServiceAt(j)
		if !charged(svc.Role) {
			continue
		}
		k := &st.services[j].risk
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: level %.3g (reserve quantile %.3g), objective window %.2fx its share spent",
			svc.Name, k.level(), k.quantile(svc.Role), k.spent()/st.shareOf(p, j).charged)
	}
	return b.String()
}
