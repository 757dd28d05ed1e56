package closedloop

import (
	"fmt"
	"strings"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/sim/compete"
	"github.com/tidal-planner/tidal/planner/sim/scenario"
	"github.com/tidal-planner/tidal/policies"
)

// Epoch is the wall-clock time of every scenario's start, as the planner sees it.
var Epoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// Run is what one closed-loop scenario produced: every decision the planner took, in order, and
// the simulated world's result.
type Run struct {
	Decisions []planner.Decision
	Result    sim.Result
	// Requests is the number of requests the script drew; World describes the engines.
	Requests int
	World    string
	History  time.Duration
}

// Simulate runs a scenario: the policy's planner, with the embedded Dynamo profile as its model
// and forecasters warmed with the script's history (cold without one), scales the policy's deployment in a world running that
// profile at the script's speeds, under the script's load.
func Simulate(p policies.Policy, s Script) (Run, error) {
	prof, err := scenario.Profile()
	if err != nil {
		return Run{}, err
	}
	truth, err := sim.Truth{PrefillSpeed: s.PrefillSpeed, DecodeSpeed: s.DecodeSpeed}.Model(prof)
	if err != nil {
		return Run{}, err
	}
	dep, err := sim.DeploymentFromPolicy(p, truth)
	if err != nil {
		return Run{}, err
	}
	if err := s.applyStart(&dep); err != nil {
		return Run{}, err
	}
	wl := s.Workload()
	run := Run{Requests: len(wl.Requests), World: truth.String(), History: s.History}
	tidal := compete.NewTidal(p, &prof, s.LoadHistory(p.Planning.Interval))
	tidal.OnDecision = func(d planner.Decision) { run.Decisions = append(run.Decisions, d) }
	run.Result, err = sim.Run(dep, wl, tidal, sim.Options{Epoch: Epoch})
	if err != nil {
		return Run{}, err
	}
	return run, nil
}

// at is a decision's offset from the scenario's start.
func at(d planner.Decision) time.Duration { return d.Time.Sub(Epoch) }

// Render writes the run's transcript: per decision and service, current -> desired, ready, and
// the reason codes in pipeline order (a code whose step changed the count carries before->after;
// reserve its growth factor),
// then the summary. It is the golden file's text.
func (r Run) Render(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# closed-loop transcript of %s: regenerate only after reading the diff, with\n", name)
	fmt.Fprintf(&b, "#   go test ./planner/sim/closedloop -run TestScenarios -update\n")
	fmt.Fprintf(&b, "# world: %s; %d requests drawn; warm history %v\n", r.World, r.Requests, r.History)
	for _, d := range r.Decisions {
		m := at(d) / time.Minute
		s := (at(d) % time.Minute) / time.Second
		for _, sd := range d.Services {
			fmt.Fprintf(&b, "t+%03dm%02ds %-18s %2d -> %2d  ready %2d  gpus %3d |", m, s, sd.Name, sd.Current, sd.Desired, sd.Ready, d.GPUs)
			for _, rs := range sd.Reasons {
				b.WriteString(" " + string(rs.Code))
				if rs.Code == planner.CodeReserve {
					fmt.Fprintf(&b, "=%.3g", rs.Value) // the growth factor planned
				}
				if rs.Changed() {
					fmt.Fprintf(&b, "(%d->%d)", rs.Before, rs.After)
				}
			}
			b.WriteByte('\n')
		}
	}
	res := r.Result
	fmt.Fprintf(&b, "summary: %d requests, attainment %.2f%%, %.2f GPU-hours, %d scale events\n",
		res.Requests, 100*res.Attainment, res.GPUHours, res.ScaleEvents)
	fmt.Fprintf(&b, "latency: TTFT p50 %.0f ms p90 %.0f ms p99 %.0f ms; ITL p50 %.1f ms p90 %.1f ms p99 %.1f ms\n",
		1000*res.TTFT.P50, 1000*res.TTFT.P90, 1000*res.TTFT.P99, 1000*res.ITL.P50, 1000*res.ITL.P90, 1000*res.ITL.P99)
	for _, sr := range res.Services {
		fmt.Fprintf(&b, "service %s: %.2f GPU-hours, %d scale events\n", sr.Name, sr.GPUHours, sr.ScaleEvents)
	}
	return b.String()
}

// applyStart sets the replicas serving at time zero from the script's start statements.
func (s Script) applyStart(dep *sim.Deployment) error {
	for _, st := range s.Start {
		found := 0
		for i, svc := range dep.Services {
			if svc.Name == st.Service || string(svc.Role) == st.Service {
				if st.Replicas < svc.MinReplicas || st.Replicas > svc.MaxReplicas {
					return fmt.Errorf("%s:%d: start %s %d: outside the policy's bounds [%d, %d]",
						s.file, st.Line, st.Service, st.Replicas, svc.MinReplicas, svc.MaxReplicas)
				}
				dep.Services[i].Initial = st.Replicas
				found++
			}
		}
		if found != 1 {
			return fmt.Errorf("%s:%d: start %s: names no single simulated service of the policy", s.file, st.Line, st.Service)
		}
	}
	return nil
}
