package ops

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tidal-planner/tidal/planner"
)

// TickHealth sorts the policies that have ticked by their last tick: succeeding when it made a
// decision without an error (reading Prometheus, the cluster or writing), failing otherwise. A
// start-up backfill error does not count: the forecast starts cold and the ticks go on.
func (r *Recorder) TickHealth() (succeeding, failing []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, ring := range r.ticks {
		if len(ring) == 0 {
			continue
		}
		if ring[len(ring)-1].succeeded {
			succeeding = append(succeeding, name)
		} else {
			failing = append(failing, name)
		}
	}
	slices.Sort(succeeding)
	slices.Sort(failing)
	return succeeding, failing
}

// tickOK reports whether a tick decided and nothing it did failed. A tick that carries only a
// start-up backfill error (the loop records it as outcome failed, before the first tick) is not
// a failed tick: the forecast starts cold and the ticks go on.
func tickOK(t planner.Tick) bool {
	for _, e := range t.Errors {
		if e.Stage != planner.StageHistory {
			return false
		}
	}
	if len(t.Errors) > 0 {
		return true
	}
	return t.Outcome != "" && t.Outcome != planner.OutcomeFailed
}

// Ready is the readiness rule of tidal run: not ready while a policy has not completed its
// first tick (ticked false), nor while every policy's last tick failed (Prometheus or the API
// server unreachable, RBAC missing: the process serves nothing useful). One failing policy among
// succeeding ones keeps the process ready, so the KEDA scaler keeps answering for the others;
// tidal_errors_total and the alerts report that policy.
func (r *Recorder) Ready(ticked bool) error {
	if !ticked {
		return fmt.Errorf("not every policy has completed its first tick")
	}
	ok, failing := r.TickHealth()
	if len(ok) == 0 && len(failing) > 0 {
		return fmt.Errorf("the last tick of every policy failed (%s): see /debug/decisions", strings.Join(failing, ", "))
	}
	return nil
}
