package compete

import (
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
)

// Static holds a fixed allocation. Run it in a deployment whose initial replicas are the same
// counts (WithInitial) so the allocation serves from time zero.
type Static struct {
	Replicas map[string]int32
}

// Cadence implements sim.Autoscaler: a fixed allocation need not be asked often.
func (s Static) Cadence() sim.Cadence { return sim.Cadence{Interval: time.Hour, Window: time.Minute} }

// Scale implements sim.Autoscaler.
func (s Static) Scale(time.Time, planner.Observations) map[string]int32 { return s.Replicas }

// WithInitial returns d with its services' initial replicas set from counts (clamped to bounds).
func WithInitial(d sim.Deployment, counts map[string]int32) sim.Deployment {
	svcs := make([]sim.Service, len(d.Services))
	copy(svcs, d.Services)
	for i := range svcs {
		if n, ok := counts[svcs[i].Name]; ok {
			svcs[i].Initial = min(max(int(n), svcs[i].MinReplicas), svcs[i].MaxReplicas)
		}
	}
	d.Services = svcs
	return d
}
