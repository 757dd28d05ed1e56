package planner

import (
	"time"

	"github.com/tidal-planner/tidal/policies"
)

// maxIntents is how many of its own recent writes a service's memory keeps.
const maxIntents = 4

// writeMemory is what the planner remembers of this process's own writes to one service, to tell
// them from another writer's (issue 13 defect 4). It is empty until the process writes: a
// follower, or a process that has only read, never sees another writer.
type writeMemory struct {
	intents []int32 // the counts this process last wrote or tried to write, newest last
	base    int32   // the last count read that this process's writes explained
	hasBase bool
	backoff bool      // another writer changed the count: do not write
	seen    int32     // the other writer's count as last read
	since   time.Time // when the other writer's count last changed
}

// Wrote tells the state that the loop is about to write n replicas of service (call it before
// sending the write, and only when the write is for real: not in dry-run, not as a follower). A
// later read of n is then known to be this process's doing. Plan is otherwise unaffected.
func (st *State) Wrote(service string, n int32) {
	for i := range st.services {
		if st.services[i].name == service {
			m := &st.services[i].writes
			m.intents = append(m.intents, n)
			if len(m.intents) > maxIntents {
				m.intents = m.intents[len(m.intents)-maxIntents:]
			}
		}
	}
}

// Follow forgets every service's write memory: the process does not lead, so another tidal may
// write; whoever leads next starts from what it reads.
func (st *State) Follow() {
	for i := range st.services {
		st.services[i].writes = writeMemory{}
	}
}

// explains reports whether count n is this process's doing: its base or one of its writes.
func (m *writeMemory) explains(n int32) bool {
	if m.hasBase && n == m.base {
		return true
	}
	for _, w := range m.intents {
		if w == n {
			return true
		}
	}
	return false
}

// otherWriter checks the count read this tick against this process's writes: a count none of
// them explains starts a back-off (reason conflicting-writer: Before = tidal's last write, After
// = the count read); while backing off, every change of the count restarts the quiet time, and
// the back-off ends once the count stayed unchanged for the policy's conflictBackoff or came back
// to one tidal wrote. Only for services whose replicas were read this tick.
func (r *run) otherWriter(read int32) {
	m := &r.ss.writes
	quiet := r.p.Stability.ConflictBackoff
	switch {
	case len(m.intents) == 0: // nothing written yet: what is read is the starting point
		m.base, m.hasBase = read, true
		return
	case m.explains(read):
		m.base, m.hasBase, m.backoff = read, true, false
		return
	case !m.backoff:
		m.backoff, m.seen, m.since = true, read, r.now
		r.add(StepObserve, CodeConflictingWriter, m.intents[len(m.intents)-1], read, 0, quiet.Seconds(),
			"another writer changed the replicas")
	case read != m.seen:
		m.seen, m.since = read, r.now
	}
	if r.now.Sub(m.since) >= quiet {
		// Quiet long enough: the count read is the new starting point.
		*m = writeMemory{intents: m.intents[:0], base: read, hasBase: true}
		return
	}
	r.backoff = true
}

// holdForOtherWriter keeps the count the other writer set while backing off (reason
// writer-backoff: Value = seconds of quiet still needed).
func (r *run) holdForOtherWriter() {
	if !r.backoff {
		return
	}
	m := &r.ss.writes
	left := r.p.Stability.ConflictBackoff - r.now.Sub(m.since)
	r.add(StepStabilise, CodeWriterBackoff, r.want, r.cur, left.Seconds(), r.p.Stability.ConflictBackoff.Seconds(), "")
	r.want = r.cur
}

// decideWrites sets each service's Write: actuation scale, replicas read this tick, no other
// writer being backed off from, and a desired count that differs from the cluster's. It is the
// one place that decides what is written; the loop and the actuator obey it.
func (st *State) decideWrites(p policies.Policy, ds []ServiceDecision) {
	for i := range ds {
		d := &ds[i]
		d.Actuation = p.ServiceAt(i).Actuation
		d.Write = d.Actuation == policies.ActuationScale && d.ReplicasKnown && !st.services[i].writes.backoff &&
			d.Desired != d.Current
	}
}
