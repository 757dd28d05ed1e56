package planner

import (
	"time"

	"github.com/tidal-planner/tidal/policies"
)

// Burn memory: the error budget's limit cycle, and what stops it.
//
// A service whose level loosens at N replicas scales down to N-1; if N-1 cannot carry the load,
// its misses burn the budget, the level tightens, the service goes back to N, loosens again and
// the cycle repeats (the built-in day: prefill 1 <-> 2 at night, 2 <-> 3 in the evening, 51 scale
// events where hindsight makes 10). Each turn pays a startup and a burst of misses for what the
// deployment has already shown. So when the budget tightens at a count the service scaled down
// to, and the model sizes that count as just enough for the load, the service remembers the count
// and the load on its own signal (burnMark). Once the same count has burned after two separate
// scale-downs to it, a scale-down to that count or fewer is blocked while the planned load is at
// least the lowest load it burned at, for a hold that starts at the cycle's own period (the time
// between the two scale-downs) and doubles with each further episode, as a crash-loop back-off
// does, up to the objective window. It is evidence, not a constant: the mark is what this
// deployment measured, it blocks only what the metrics showed failing twice, a lower load lets the
// scale-down through, and a mark that was wrong costs one period's replica before it is tried again.

// burnMark is the count that last burned the budget: replicas serving, the lowest load (on the
// service's own signal) they burned at, when, and in how many episodes: separate scale-downs to
// the count that each ended in a burn (down is the latest scale-down's time).
type burnMark struct {
	replicas int32
	load     float64
	at       time.Time
	down     time.Time
	episodes int
	hold     time.Duration // how long after the last burn a scale-down to the count stays blocked
}

// cycleEpisodes is how many burns after a scale-down to the same count make a cycle. One burn is
// one event (a burst, a drain after a surge) and proves nothing about the count; the second time
// the same scale-down ends the same way, the deployment has shown it twice.
const cycleEpisodes = 2

// ownSignal is a load's rate on the signal a role's latency answers to: prompt tokens/s for
// prefill, output tokens/s for decode, requests/s otherwise.
func ownSignal(role policies.Role, l Load) float64 {
	switch role {
	case policies.RolePrefill:
		return l.InputTokenRate
	case policies.RoleDecode:
		return l.OutputTokenRate
	}
	return l.RequestRate
}

// markBurn records, when the error budget tightened this interval, that the replicas serving
// burned the budget at the observed load: the lowest such load for the same count, a fresh mark
// for another count. Only a count that is the cycle's is marked: one this planner reached by
// scaling down, and one the model sizes as just enough for the load it burned at. A count reached
// by scaling up burns while the backlog of the surge that called for it drains, and a count well
// above the model's need burns for some other reason than its size (the 6-hour step in a
// 20%-slow world: eight prefill replicas burned while the load needed five, and marking them
// held nine for hours, 38.9 -> 44.7 GPU-hours).
func (r *run) markBurn() {
	if !r.burning || !r.known || r.ready <= 0 || !r.ss.lastChange.After(r.ss.lastUp) {
		return
	}
	ol := r.observedLoad()
	l := ownSignal(r.svc.Role, ol)
	if n, sized := r.needAt(ol); !(l > 0) || !sized || n < r.ready {
		return
	}
	m := &r.ss.burned
	if m.replicas != r.ready || r.now.Sub(m.at) >= r.p.SLO.ObjectiveWindow {
		*m = burnMark{replicas: r.ready, load: l, at: r.now, down: r.ss.lastChange, episodes: 1}
		return
	}
	m.load, m.at = min(m.load, l), r.now
	if !m.down.Equal(r.ss.lastChange) {
		// A new episode: hold for the cycle's own period (the time between the two scale-downs),
		// doubling with every further episode, as a crash-loop back-off does.
		gap := r.ss.lastChange.Sub(m.down)
		m.down, m.episodes, m.hold = r.ss.lastChange, m.episodes+1, min(max(gap, 2*m.hold), r.p.SLO.ObjectiveWindow)
	}
}

// keepBurned blocks a scale-down to a count that burned the budget in a cycle (cycleEpisodes
// separate scale-downs to it) at a load no higher than the load planned for (the observed load
// with its reserve over the lead time: what the smaller count would meet before a replica could
// start again), within the mark's hold after its last burn; it keeps one replica more than the
// mark.
func (r *run) keepBurned() {
	m := r.ss.burned
	if r.want >= r.cur || m.episodes < cycleEpisodes || r.want > m.replicas || r.now.Sub(m.at) >= m.hold {
		return
	}
	l := ownSignal(r.svc.Role, r.load)
	if !(l >= m.load) {
		return
	}
	next := min(m.replicas+1, r.cur)
	if next > r.want {
		r.add(StepStabilise, CodeBurnedHere, r.want, next, m.load, l, "")
		r.want = next
	}
}
