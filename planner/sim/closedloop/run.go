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
	// Observed is what the planner saw at each decision (same index as Decisions).
	Observed []planner.Observations
	Result   sim.Result
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
	rec := &recorder{Tidal: tidal, seen: &run.Observed}
	var as sim.Autoscaler = rec
	if _, ok := any(tidal).(sim.PassObserver); ok {
		as = passRecorder{rec}
	}
	run.Result, err = sim.Run(dep, wl, as, sim.Options{Epoch: Epoch})
	if err != nil {
		return Run{}, err
	}
	return run, nil
}

// recorder keeps what the planner saw at each decision.
type recorder struct {
	*compete.Tidal
	seen *[]planner.Observations
}

// Scale implements sim.Autoscaler.
func (r *recorder) Scale(now time.Time, obs planner.Observations) map[string]int32 {
	*r.seen = append(*r.seen, obs)
	return r.Tidal.Scale(now, obs)
}

// passRecorder is a recorder for a planner that learns from forward passes: it passes them on.
type passRecorder struct{ *recorder }

// ObservePass implements sim.PassObserver.
func (r passRecorder) ObservePass(p sim.ForwardPass) {
	if po, ok := any(r.Tidal).(sim.PassObserver); ok {
		po.ObservePass(p)
	}
}

// at is a decision's offset from the scenario's start.
func at(d planner.Decision) time.Duration { return d.Time.Sub(Epoch) }

// Render writes the run's transcript: per decision the signals observed, then per service
// current -> desired, ready, and
// the reason codes in pipeline order (a code whose step changed the count carries before->after;
// reserve its growth factor),
// then the summary. It is the golden file's text.
func (r Run) Render(name string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# closed-loop transcript of %s: regenerate only after reading the diff, with\n", name)
	fmt.Fprintf(&b, "#   go test ./planner/sim/closedloop -run TestScenarios -update\n")
	fmt.Fprintf(&b, "# world: %s; %d requests drawn; warm history %v\n", r.World, r.Requests, r.History)
	for i, d := range r.Decisions {
		m := at(d) / time.Minute
		s := (at(d) % time.Minute) / time.Second
		fmt.Fprintf(&b, "t+%03dm%02ds observed %s\n", m, s, observed(r.Observed, i))
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

// observed renders the signals a decision was taken on: request rate, queue, TTFT and ITL at
// the SLO's percentiles ("-" where missing).
func observed(obs []planner.Observations, i int) string {
	if i >= len(obs) {
		return "-"
	}
	o := obs[i]
	v := func(x planner.Value, scale float64, format string) string {
		if !x.OK {
			return "-"
		}
		return fmt.Sprintf(format, x.V*scale)
	}
	return fmt.Sprintf("rate %s req/s, queue %s, ttft %s ms, itl %s ms", v(o.RequestRate, 1, "%.1f"),
		v(o.QueueDepth, 1, "%.0f"), v(o.TTFTPercentile, 1000, "%.0f"), v(o.ITLPercentile, 1000, "%.1f"))
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
