package ops

import (
	"math"

	"github.com/tidal-planner/tidal/planner"
)

// decisionOf converts a tick for /debug/decisions. Non-finite numbers become 0 or are dropped
// (JSON has no NaN).
func decisionOf(t planner.Tick, kind func(error) string) Decision {
	p := t.Policy
	d := Decision{
		Policy: p.Name, Namespace: p.Target.Namespace, Deployment: p.Target.Deployment,
		Mode: string(p.Mode), Time: t.Time, DurationSeconds: t.Duration.Seconds(),
		Outcome: string(t.Outcome), Changed: t.Changed, GPUs: t.Decision.GPUs,
		ShortfallGPUs: t.Decision.ShortfallGPUs,
	}
	for _, s := range t.Decision.Services {
		d.Services = append(d.Services, serviceOf(s))
	}
	if t.Outcome != planner.OutcomeFailed && t.Outcome != "" {
		d.Observed = map[string]Value{}
		for _, sv := range signalValues(t.Observations) {
			d.Observed[sv.name] = valueOf(sv.v)
		}
	}
	for _, e := range t.Errors {
		d.Errors = append(d.Errors, Error{Stage: string(e.Stage), Kind: kind(e.Err), Error: e.Err.Error()})
	}
	return d
}

func serviceOf(s planner.ServiceDecision) Service {
	out := Service{
		Name: s.Name, Role: string(s.Role), Current: s.Current, Ready: s.Ready, Desired: s.Desired,
		Held: s.Held, GPUsPerReplica: s.GPUsPerReplica, Need: finite(s.Need),
		Load: Load{RequestRate: finite(s.Load.RequestRate), InputTokenRate: finite(s.Load.InputTokenRate),
			OutputTokenRate: finite(s.Load.OutputTokenRate)},
		Reasons: make([]Reason, 0, len(s.Reasons)),
	}
	for _, r := range s.Reasons {
		out.Reasons = append(out.Reasons, Reason{Step: string(r.Step), Code: string(r.Code), Before: r.Before,
			After: r.After, Value: finite(r.Value), Limit: finite(r.Limit), Note: r.Note, Detail: r.Detail()})
	}
	return out
}

func valueOf(v planner.Value) Value {
	if v.OK && !math.IsNaN(v.V) && !math.IsInf(v.V, 0) {
		x := v.V
		return Value{Value: &x}
	}
	if v.OK {
		return Value{Missing: "not finite"}
	}
	return Value{Missing: v.Missing}
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
