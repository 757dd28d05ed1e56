package planner

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

// The error-budget controller: each worker service carries a risk level e, which sets two margins:
// the reserve plans at quantile q = 1 - e of the load's growth over a lead time (reserve.go), and
// below the initial level the service also plans to use only a fraction u(e) of its capacity
// (utilisation): the reserve answers misses the load's growth causes, the utilisation margin those
// the operating point itself causes (a TTFT tail at steady load, decode near its ITL knee).
//
// The SLO's objective allows a miss fraction m* = 1 - objective over its window. A service is
// charged the misses of the latency it drives (TTFT: prefill; ITL: decode; both: aggregated) and
// gets a share s of m*: what the other services have not spent (share). Every interval
// with a known attainment the controller compares the service's recent miss fraction over a long
// (twenty minutes, exponentially weighted) and a short window (the last metrics window itself) with its
// share, as the
// multi-window burn-rate alerts of the Google SRE workbook (ch. 5, "Alerting on SLOs") do:
//
//	both windows burn (> s):                 e <- e x exp(-tightenGain x min(long/s - 1, 4))
//	both within s, and the window's spend + one lead time's misses (lead / window) < what the
//	others left of m* (at most s):           e <- e x exp(loosenGain x (1 - long/s))
//	the short window within s, e tighter than e0: e <- min(e x exp(loosenGain), e0)
//	otherwise: e unchanged
//
// within [minRisk, maxWaitRisk] (see pastLoosest). The short window stops the
// tightening once an event is over (a step's misses keep the hour's mean high long after the
// replicas caught up); the long one keeps a blip from loosening. Tightening is ten times faster than loosening: a miss costs the SLO now, a spare
// replica only money. With the attainment missing the level is frozen (never loosened) and the
// reason says so. docs/planner.md has the derivation.
const (
	defaultRisk = 0.05 // e before any evidence: the reserve at the 95th percentile of growth
	minRisk     = 0.01 // the tightest level: q = 99% (rarer quantiles of a day's decayed samples are a handful of events)
	maxRisk     = 0.3  // the loosest reserve: q = 70%
	// maxWaitRisk is the loosest level of a worker service. Past maxRisk the reserve stays at its
	// loosest quantile and the level instead shrinks the prefill queue's variability term
	// (waitScale: prefill and aggregated workers) and raises the utilisation ceiling towards 1
	// (utilisation: decode and aggregated workers): the budget, not a constant, decides how much
	// of the modelled TTFT wait is real and how near its ITL target's throughput decode may plan.
	maxWaitRisk = 0.6
	// minWaitScale is the variability factor's multiplier at maxWaitRisk.
	minWaitScale = 0.5
	tightenGain  = 0.25
	loosenGain   = 0.025
	// longWindow is the time constant of the recent miss fraction. The short window is the
	// latest metrics window as read: an average of a big event decays too slowly against a
	// share of a percent (a 90% miss fraction needs 4.5 time constants to fall below 1%).
	longWindow = 20 * time.Minute
)

// risk is one service's error-budget state.
type risk struct {
	e            float64 // risk level; 0 = not yet set (defaultRisk)
	long, short  float64 // EWMA of the miss fraction over longWindow; the last window's
	haveRecent   bool
	reqs, misses float64 // requests and misses over the objective window (decayed)
}

// spent is the miss fraction over the objective window (0 before any evidence).
func (k *risk) spent() float64 {
	if !(k.reqs > 0) {
		return 0
	}
	return k.misses / k.reqs
}

// level returns e, defaultRisk before the first update.
func (k *risk) level() float64 {
	if k.e == 0 {
		return defaultRisk
	}
	return k.e
}

// quantile is the reserve quantile 1 - e of a service in this role, at most 1 - loosestReserve.
func (k *risk) quantile(role policies.Role) float64 {
	return 1 - min(k.level(), loosestReserve(role))
}

// loosestReserve is the loosest level a role's reserve follows: maxRisk (the 70% quantile of
// growth), but defaultRisk (95%) for decode. Load growth past the reserve overloads a decode
// batch all at once (every sequence of a saturated batch misses its ITL) for a whole startup,
// where prefill degrades by its queue; and decode's budget, spent in those rare bursts, reads as
// unspent between them, so its level loosens until the next one. Decode's level still moves
// below defaultRisk (a burn tightens its reserve) and past it (its utilisation ceiling), as for
// every role. Measured on the ServeGen days in the 20%-slow world, docs/planner.md.
func loosestReserve(role policies.Role) float64 {
	if role == policies.RoleDecode {
		return defaultRisk
	}
	return maxRisk
}

// waitScale maps a risk level to the multiplier of the prefill queue's variability factor: 1 up
// to maxRisk, then falling linearly in log e to minWaitScale at maxWaitRisk. The queue model
// serves one request at a time while the engine batches, so it overstates the wait (docs/planner.md,
// "Calibrating a profile"); a budget still unspent with the reserve at its loosest is the
// measured evidence that it does, and this is where that evidence is spent.
// Prefill and aggregated workers have the term (an aggregated worker prefills through the same
// queue model); decode spends the same levels on its utilisation ceiling instead.
func waitScale(role policies.Role, e float64) float64 {
	if !prefills(role) {
		return 1
	}
	return 1 - pastLoosest(e)*(1-minWaitScale)
}

// pastLoosest is how far a level is past the loosest reserve, 0 at maxRisk and below to 1 at
// maxWaitRisk, linear in log e.
func pastLoosest(e float64) float64 {
	if e <= maxRisk {
		return 0 // every level but a prefill or decode service's loosest: no logarithms on the sizing path
	}
	past := (math.Log(e) - math.Log(maxRisk)) / (math.Log(maxWaitRisk) - math.Log(maxRisk))
	return min(max(past, 0), 1)
}

// budgetUpdate is what one interval did to a service's risk level, for its reason.
type budgetUpdate struct {
	code          Code
	burn, spent   float64 // long-window miss fraction / share; objective window's / share
	before, after float64 // e
	frozenBecause string
	starting      bool // would have tightened, but replicas were starting
}

// state is the service's error budget after update u, as a decision reports it.
func (k *risk) state(u budgetUpdate, share float64, role policies.Role) ErrorBudget {
	b := ErrorBudget{Known: true, Risk: k.level(), ReserveQuantile: k.quantile(role), Share: share}
	if u.code != CodeRiskFrozen {
		b.Measured, b.Burn, b.Spent = true, u.burn, u.spent
	}
	return b
}

// update charges one interval's attainment a (fraction of n requests within target) against the
// service's part b of the miss budget and moves e: weighed against b.charged, loosened only while
// the objective window's spend plus b.cushion is also below b.left. dt is the interval, window the
// objective's window.
// starting says replicas the planner asked for are still starting, or were within the metrics
// window just read (errorBudget): misses then are the lead time's (the load outgrew the replicas
// before the new ones could serve), which a tighter margin on the replicas already asked for
// would not have prevented, so they are charged but do not tighten; the reserve learns the growth
// that caused them from the load itself (reserve.go).
// ceiling is the loosest level this service may reach (maxWaitRisk for every worker).
func (k *risk) update(a Value, n float64, b budgetShare, dt, window time.Duration, starting bool, ceiling float64) budgetUpdate {
	u := budgetUpdate{before: k.level()}
	share := b.charged
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
	if !k.haveRecent {
		k.long, k.short, k.haveRecent = miss, miss, true
	} else {
		k.long += ewma(dt, longWindow) * (miss - k.long)
		k.short = miss
	}
	decay := math.Exp(-dt.Seconds() / max(window.Seconds(), dt.Seconds()))
	k.reqs, k.misses = k.reqs*decay+n, k.misses*decay+n*miss
	u.burn, u.spent = k.long/share, k.misses/k.reqs/share
	shortBurn := k.short / share
	e := u.before
	switch {
	case u.burn > 1 && shortBurn > 1 && starting:
		u.code, u.starting = CodeRiskHeld, true
	case u.burn > 1 && shortBurn > 1:
		e *= math.Exp(-tightenGain * min(u.burn-1, 4))
		u.code = CodeRiskTightened
	case u.burn <= 1 && shortBurn <= 1 && k.spent()+b.cushion < b.left:
		// b.left <= b.charged, so this is also the window's spend within the share.
		e *= math.Exp(loosenGain * (1 - u.burn))
		u.code = CodeRiskLoosened
	case shortBurn <= 1 && e < defaultRisk:
		// Nothing burns now, but the hour or the window's budget still carries an event's misses:
		// back toward the initial level, never looser, so one event does not pin the service at
		// its tightest for an hour or a window.
		e = min(e*math.Exp(loosenGain), defaultRisk)
		u.code = CodeRiskHeld
	default:
		u.code = CodeRiskHeld
	}
	k.e = min(max(e, minRisk), ceiling)
	u.after = k.e
	return u
}

// ewma is the weight of a new sample in an exponentially weighted mean with time constant tau,
// for samples dt apart.
func ewma(dt, tau time.Duration) float64 { return 1 - math.Exp(-dt.Seconds()/tau.Seconds()) }

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
	starting, _ := r.scaleUpStarting() // replicas that never became ready do not hold the level
	if starting {
		r.ss.startingSeen = r.now
	}
	// The window read now may still hold the misses of a start that just ended.
	starting = starting || r.stillInWindow(r.ss.startingSeen)
	role := r.svc.Role
	u := r.ss.risk.update(a, n, share, r.p.Planning.Interval, r.p.SLO.ObjectiveWindow, starting, maxWaitRisk)
	r.dec.Budget = r.ss.risk.state(u, share.charged, role)
	note := u.frozenBecause
	switch {
	case u.starting:
		note = "misses above this service's share while replicas start: the lead time's, not the margin's"
	case u.code == CodeRiskTightened:
		note = "misses over the last twenty minutes and the last window above this service's share of the budget"
	case u.code == CodeRiskLoosened:
		note = "misses over the last twenty minutes, the last window and the objective window within this service's share"
	case u.code == CodeRiskHeld:
		note = "one window burns and the other does not, or the objective window's budget left could not take one lead time of misses"
	}
	// Limit: the reserve quantile the level gives after the update.
	r.add(StepErrorBudget, u.code, r.cur, r.cur, u.burn, r.ss.risk.quantile(role), note)
	r.burning = u.code == CodeRiskTightened
	r.refuteReach(r.burning)
	if u.after <= maxRisk {
		return
	}
	if decodes(role) {
		r.add(StepErrorBudget, CodeUtilisationRaised, r.cur, r.cur, utilisation(role, u.after), u.after,
			"budget unspent with the reserve at its loosest: decode plans nearer its ITL target's throughput")
	}
	if prefills(role) {
		r.add(StepErrorBudget, CodeWaitScaled, r.cur, r.cur, waitScale(role, u.after), u.after,
			"budget unspent with the reserve at its loosest: the queue model's variability term shrinks")
	}
}

// attainment is the latency attainment this service is charged with and its share of the miss
// budget; false for services that drive no latency (frontends).
func (r *run) attainment() (Value, budgetShare, bool) {
	if !charged(r.svc.Role) {
		return Value{}, budgetShare{}, false
	}
	return r.chargedAttainment(), r.share(), true
}

// chargedAttainment is the attainment of the latency this service drives: TTFT for prefill, ITL
// for decode, both for aggregated (misses of either, a request missing both counted twice).
func (r *run) chargedAttainment() Value {
	return chargedAttainment(r.svc.Role, r.obs.TTFTAttained, r.obs.ITLAttained)
}

// chargedAttainment is the attainment a role is charged with, from the TTFT and ITL attainments.
func chargedAttainment(role policies.Role, t, i Value) Value {
	switch {
	case role == policies.RolePrefill:
		return t
	case role == policies.RoleDecode:
		return i
	case !t.OK:
		return t
	case !i.OK:
		return i
	}
	return Known(max(t.V+i.V-1, 0))
}

// share is this service's part of the miss budget m* = 1 - objective: what the other charged
// services have not spent over the objective window (their misses as of their last update), at
// least an equal split's half, m* / (2 n). Budget one service leaves unused goes to the one whose
// latency misses: decode that never misses lets prefill spend the whole budget rather than hold
// replicas for a half it could never use. A request missing both targets is charged to both, which
// errs on the SLO's side.
func (r *run) share() budgetShare { return r.st.shareOf(r.p, r.i) }

// budgetShare is one service's part of the miss budget m* = 1 - objective (run.share).
type budgetShare struct {
	// charged is what its misses are weighed against: what the other charged services have not
	// spent, at least half an equal split, so one service's misses do not tighten another.
	charged float64
	// left is what the other services have left of m* (negative once they overspent it): a
	// service loosens only while its own spend is below it. The floor on charged keeps it from
	// tightening for another's misses; it is not budget to spend once the whole is gone.
	left float64
	// cushion is the window's miss fraction one lead time of misses would add: a load surprise
	// (a burst, a step) that comes while the service is loose is met when replicas asked for then
	// serve, one lead time (startup + interval) later, and in the worst case every request until
	// then misses. At an even load that is lead / objective window of its requests. A service
	// loosens only while its spend plus the cushion is below left: the budget it leaves can still
	// take one surprise.
	cushion float64
}

// shareOf is service i's share of the miss budget (run.share).
func (st *State) shareOf(p policies.Policy, i int) budgetShare {
	m := 1 - p.SLO.Objective
	n, others := 0, 0.0
	for j := range st.services {
		if !charged(p.ServiceAt(j).Role) {
			continue
		}
		n++
		if j != i {
			others += st.services[j].risk.spent()
		}
	}
	lead := p.ServiceAt(i).StartupTime + p.Planning.Interval
	return budgetShare{charged: max(m-others, m/float64(2*max(n, 1))), left: m - others,
		cushion: lead.Seconds() / max(p.SLO.ObjectiveWindow.Seconds(), lead.Seconds())}
}

// charged reports whether a role drives a latency the error budget charges (workers).
func charged(role policies.Role) bool {
	return role == policies.RolePrefill || role == policies.RoleDecode || role == policies.RoleAggregated
}

// The utilisation margin: a service plans to use at most u(e) of its capacity (decode: of its
// throughput at the ITL target; prefill: of its load-carrying capacity, as load / u). At the
// initial level and looser, u is the role's ceiling; tightening below it lowers u linearly in
// log e down to minUtilisation at minRisk. Decode's ceiling (and an aggregated worker's) is below
// 1: overload at the ITL knee is all-or-nothing (every sequence of a saturated batch misses), so it
// keeps a margin until its own budget says otherwise: past the loosest reserve (pastLoosest) its
// ceiling rises linearly to 1 at maxWaitRisk, as the prefill queue's term shrinks there.
const (
	minUtilisation        = 0.7
	decodeMaxUtilisation  = 0.9
	prefillMaxUtilisation = 1.0
)

// utilisation maps a risk level to the fraction of capacity a role plans to use.
func utilisation(role policies.Role, e float64) float64 {
	top := prefillMaxUtilisation
	if decodes(role) {
		top = decodeMaxUtilisation
		if e > maxRisk {
			return top + pastLoosest(e)*(1-top)
		}
	}
	tight := (math.Log(defaultRisk) - math.Log(e)) / (math.Log(defaultRisk) - math.Log(minRisk))
	tight = min(max(tight, 0), 1)
	return top - tight*(top-minUtilisation)
}
