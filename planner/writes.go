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
	wrote   bool    // this process has written since it last followed
	intents []int32 // writes not yet seen in the cluster, newest last
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
			m.wrote = true
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

// explains reports whether count n is this process's doing: its base (nothing landed since) or
// one of its writes not yet seen, which then becomes the base, dropping it and every older write:
// a write seen in the cluster explains nothing more, so another writer who sets a count tidal
// wrote earlier is still noticed.
func (m *writeMemory) explains(n int32) bool {
	for i := len(m.intents) - 1; i >= 0; i-- {
		if m.intents[i] == n {
			m.intents = append(m.intents[:0], m.intents[i+1:]...)
			m.base, m.hasBase = n, true
			return true
		}
	}
	return m.hasBase && n == m.base
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
	case !m.wrote: // nothing written yet: what is read is the starting point
		m.base, m.hasBase = read, true
		return
	case m.explains(read):
		m.backoff = false
		return
	case !m.backoff:
		m.backoff, m.seen, m.since = true, read, r.now
		r.add(StepObserve, CodeConflictingWriter, m.last(), read, 0, quiet.Seconds(),
			"another writer changed the replicas")
	case read != m.seen:
		m.seen, m.since = read, r.now
	}
	if r.now.Sub(m.since) >= quiet {
		// Quiet long enough: the count read is the new starting point.
		*m = writeMemory{wrote: true, intents: m.intents[:0], base: read, hasBase: true}
		return
	}
	r.backoff = true
}

// last returns tidal's last write: the newest pending one, else the base.
func (m *writeMemory) last() int32 {
	if n := len(m.intents); n > 0 {
		return m.intents[n-1]
	}
	return m.base
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
