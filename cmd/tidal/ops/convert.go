package ops

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/planner"
)

// record is one tick as the Recorder keeps it for /debug/decisions: the decision Plan returned
// (its slices are Plan's own, which the Tick contract makes read-only, so keeping them copies
// nothing), the observed signals as plain numbers and the errors already classified. It becomes
// a Decision only when read: a rendered Decision (a map of 15 observed values, one pointer each,
// and a formatted line per reason) is several times larger, and 500 policies keep 20 ticks each.
type record struct {
	policy, namespace, deployment, mode string
	time                                time.Time
	duration                            time.Duration
	// window and scrape are the metrics window the tick ran with and the scrape interval it was
	// fitted to (policies.Policy.FitScrape; 0: not measured).
	window, scrape time.Duration
	outcome        planner.Outcome
	changed        bool
	succeeded      bool // tickOK's verdict, for TickHealth
	decision       planner.Decision
	// observed holds signalValues' entries in order, NaN where missing (nil for a tick that
	// observed nothing); missing holds their reasons, nil when every reason is empty.
	observed []float64
	missing  []string
	errors   []Error
}

// recordOf keeps a tick for /debug/decisions.
func recordOf(t planner.Tick, kind func(error) string) record {
	p := t.Policy
	r := record{policy: p.Name, namespace: p.Target.Namespace, deployment: p.Target.Deployment,
		mode: string(p.Mode), time: t.Time, duration: t.Duration, window: p.Metrics.Window,
		scrape: p.Metrics.ScrapeInterval, outcome: t.Outcome, changed: t.Changed,
		succeeded: tickOK(t), decision: t.Decision}
	if t.Outcome != planner.OutcomeFailed && t.Outcome != "" {
		r.observed, r.missing = observedOf(t.Observations)
	}
	for _, e := range t.Errors {
		r.errors = append(r.errors, Error{Stage: string(e.Stage), Kind: kind(e.Err), Error: e.Err.Error()})
	}
	return r
}

// observedOf lists the deployment-level signals as numbers, NaN where missing (a non-finite
// value is missing as "not finite"), with the reasons when any is not empty.
func observedOf(o planner.Observations) (values []float64, missing []string) {
	svs := signalValues(o)
	values = make([]float64, len(svs))
	for i, sv := range svs {
		values[i] = math.NaN()
		reason := sv.v.Missing
		switch {
		case sv.v.OK && !math.IsNaN(sv.v.V) && !math.IsInf(sv.v.V, 0):
			values[i] = sv.v.V
			continue
		case sv.v.OK:
			reason = "not finite"
		}
		if reason != "" && missing == nil {
			missing = make([]string, len(svs))
		}
		if missing != nil {
			missing[i] = reason
		}
	}
	return values, missing
}

// signalNames are signalValues' names in its order, the keys of a record's observed values.
var signalNames = func() []string {
	svs := signalValues(planner.Observations{})
	names := make([]string, len(svs))
	for i, sv := range svs {
		names[i] = sv.name
	}
	return names
}()

// decisionOf renders a kept tick for /debug/decisions. Non-finite numbers become 0 or are
// dropped (JSON has no NaN).
func decisionOf(r record) Decision {
	d := Decision{
		Policy: r.policy, Namespace: r.namespace, Deployment: r.deployment, Mode: r.mode, Time: r.time,
		DurationSeconds: r.duration.Seconds(), WindowSeconds: r.window.Seconds(),
		ScrapeIntervalSeconds: r.scrape.Seconds(), Outcome: string(r.outcome), Changed: r.changed,
		GPUs: r.decision.GPUs, ShortfallGPUs: r.decision.ShortfallGPUs, Errors: r.errors,
	}
	for _, s := range r.decision.Services {
		d.Services = append(d.Services, serviceOf(s))
	}
	if r.observed != nil {
		d.Observed = map[string]Value{}
		for i, name := range signalNames {
			v := Value{}
			if x := r.observed[i]; !math.IsNaN(x) {
				v.Value = &x
			} else if r.missing != nil {
				v.Missing = r.missing[i]
			}
			d.Observed[name] = v
		}
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
	if b := s.Budget; b.Known {
		out.ErrorBudget = &ErrorBudget{Risk: finite(b.Risk), ReserveQuantile: finite(b.ReserveQuantile), Share: finite(b.Share)}
		if b.Measured {
			burn, spent := finite(b.Burn), finite(b.Spent)
			out.ErrorBudget.Burn, out.ErrorBudget.Spent = &burn, &spent
		}
	}
	return out
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
