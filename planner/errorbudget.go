package planner

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

// The error-budget controller: each worker service carries a risk level, the probability e that
// its load grows past its reserve over a lead time (the reserve plans at quantile q = 1 - e of the
// growth, reserve.go; decode also runs below its ITL knee by a margin tied to e, decodeUtilisation).
// The SLO's objective allows a miss fraction m* = 1 - objective over its window; a service is
// charged the misses of the latency it drives (TTFT: prefill; ITL: decode; both: aggregated) and
// gets an equal share of m* among the latencies the deployment's workers split. Every interval with
// a known attainment the controller compares the service's recent miss fraction (an hour's EWMA)
// with its share:
//
//	burning (recent > share):              e <- e x exp(-tightenGain x min(recent/share - 1, 4))
//	under-spent (recent and window < share): e <- e x exp(loosenGain x (1 - recent/share))
//
// within [minRisk, maxRisk]. Tightening is ten times faster than loosening: a miss costs the SLO
// now, a spare replica only money. With the attainment missing the level is frozen (never
// loosened) and the reason says so. docs/planner.md has the derivation.
const (
	defaultRisk = 0.05  // e before any evidence: the reserve at the 95th percentile of growth
	minRisk     = 0.002 // the tightest level: q = 99.8%
	maxRisk     = 0.3   // the loosest: q = 70%
	tightenGain = 0.25
	loosenGain  = 0.025
	// recentWindow is the time constant of the recent miss fraction.
	recentWindow = time.Hour
)

// Until the policy carries its own (slo.objective, slo.objectiveWindow), these apply.
const (
	defaultObjective       = 0.99
	defaultObjectiveWindow = 24 * time.Hour
)

// risk is one service's error-budget state.
type risk struct {
	e              float64 // risk level; 0 = not yet set (defaultRisk)
	recent         float64 // EWMA of the miss fraction over recentWindow
	haveRecent     bool
	reqs, misses   float64 // requests and misses over the objective window (decayed)
	lastTightening bool
}

// level returns e, defaultRisk before the first update.
func (k *risk) level() float64 {
	if k.e == 0 {
		return defaultRisk
	}
	return k.e
}

// quantile is the reserve quantile 1 - e.
func (k *risk) quantile() float64 { return 1 - k.level() }

// budgetUpdate is what one interval did to a service's risk level, for its reason.
type budgetUpdate struct {
	code          Code
	burn, spent   float64 // recent miss fraction / share; window miss fraction / share
	before, after float64 // e
	frozenBecause string
}

// update charges one interval's attainment a (fraction of n requests within target) against a
// share of the miss budget and moves e. dt is the interval, window the objective's window.
func (k *risk) update(a Value, n, share float64, dt, window time.Duration) budgetUpdate {
	u := budgetUpdate{before: k.level()}
	if !a.OK || !(a.V >= 0) || a.V > 1 || !(n > 0) || !(share > 0) {
		u.code, u.after = CodeRiskFrozen, u.before
		u.frozenBecause = "attainment unknown"
		if !a.OK && a.Missing != "" {
			u.frozenBecause = a.Missing
		}
		if a.OK && !(n > 0) {
			u.frozenBecause = "no requests"
		}
		return u
	}
	miss := 1 - a.V
	alpha := 1 - math.Exp(-dt.Seconds()/recentWindow.Seconds())
	if !k.haveRecent {
		k.recent, k.haveRecent = miss, true
	} else {
		k.recent += alpha * (miss - k.recent)
	}
	decay := math.Exp(-dt.Seconds() / max(window.Seconds(), dt.Seconds()))
	k.reqs, k.misses = k.reqs*decay+n, k.misses*decay+n*miss
	u.burn, u.spent = k.recent/share, k.misses/k.reqs/share
	e := u.before
	switch {
	case u.burn > 1:
		e *= math.Exp(-tightenGain * min(u.burn-1, 4))
		u.code = CodeRiskTightened
	case u.spent < 1:
		e *= math.Exp(loosenGain * (1 - u.burn))
		u.code = CodeRiskLoosened
	default:
		u.code = CodeRiskHeld
	}
	k.e = min(max(e, minRisk), maxRisk)
	u.after = k.e
	return u
}

// errorBudget runs the controller for this service and says what it did (Value = recent burn
// rate, Limit = the reserve quantile after the update; Note = why, constant so a decision does not
// allocate for it).
func (r *run) errorBudget() {
	a, share, ok := r.attainment()
	if !ok {
		return
	}
	n := 0.0
	if r.obs.RequestRate.OK {
		n = r.obs.RequestRate.V * r.p.Planning.Interval.Seconds()
	}
	u := r.ss.risk.update(a, n, share, r.p.Planning.Interval, defaultObjectiveWindow)
	note := u.frozenBecause
	switch u.code {
	case CodeRiskTightened:
		note = "recent misses above this service's share of the budget"
	case CodeRiskLoosened:
		note = "recent and window misses below this service's share"
	case CodeRiskHeld:
		note = "window budget spent; recent misses within share"
	}
	r.add(StepErrorBudget, u.code, r.cur, r.cur, u.burn, 1-u.after, note)
}

// attainment is the latency attainment this service is charged with and its share of the miss
// budget; false for services that drive no latency (frontends).
func (r *run) attainment() (Value, float64, bool) {
	m := 1 - defaultObjective
	switch r.svc.Role {
	case policies.RolePrefill:
		return r.obs.TTFTAttained, m / 2, true
	case policies.RoleDecode:
		return r.obs.ITLAttained, m / 2, true
	case policies.RoleAggregated:
		t, i := r.obs.TTFTAttained, r.obs.ITLAttained
		if !t.OK {
			return t, m, true
		}
		if !i.OK {
			return i, m, true
		}
		return Known(max(t.V+i.V-1, 0)), m, true // misses of either, counted once at most twice
	}
	return Value{}, 0, false
}

// The decode utilisation margin: decode runs at most this fraction of its throughput at the ITL
// target, from minUtilisation at the tightest risk level to maxUtilisation at the loosest,
// linear in log e (defaultRisk gives 0.89).
const (
	minUtilisation = 0.75
	maxUtilisation = 0.97
)

// decodeUtilisation maps a risk level to decode's planned utilisation of its ITL-target capacity.
func decodeUtilisation(e float64) float64 {
	pos := (math.Log(e) - math.Log(minRisk)) / (math.Log(maxRisk) - math.Log(minRisk))
	pos = min(max(pos, 0), 1)
	return minUtilisation + pos*(maxUtilisation-minUtilisation)
}
