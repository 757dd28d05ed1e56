package ops

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// policyCollector exports the per-policy series. It keeps each series' current value as a plain
// number (a running total for counters) and renders them when scraped, instead of client_golang
// metric vectors: a vector keeps every series' label pairs, its hashed label values and a metric
// object for the life of the process, about 24 kB per policy, 12 MB at 500 policies. It keeps
// one label pair per policy and three per service, shared by their series, and interns the pairs
// of the other labels (signal, bound, step, code, ...), whose values come from small sets. The exposition (names, help, types, labels, values, and the counters' created
// timestamps) is the vectors' (TestSeriesMatchVectors). Its update rules are the vectors':
// a series, once set, keeps its value until a tick sets it again or its policy is forgotten.
// Safe for concurrent use.
type policyCollector struct {
	descs seriesDescs

	mu       sync.Mutex
	policies map[string]*policySeries
	interned map[[2]string]*dto.LabelPair // name, value
	rendered int                          // series the last scrape rendered
}

// seriesDescs describes the per-policy metrics.
type seriesDescs struct {
	desired, current, ready, need, held, conflicting *prometheus.Desc
	bounds, plannedLoad, reasons                     *prometheus.Desc
	observed, missing, gpus, shortfall, lastTick     *prometheus.Desc
	sloTarget, budget, lastOK, errors, decisions     *prometheus.Desc
	risk, reserveQuantile, burn, spent, objective    *prometheus.Desc
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName("tidal", "", name), help, labels, nil)
}

func newPolicyCollector() *policyCollector {
	svc := serviceLabels
	with := func(l ...string) []string { return append(append([]string(nil), svc...), l...) }
	return &policyCollector{policies: map[string]*policySeries{}, interned: map[[2]string]*dto.LabelPair{}, descs: seriesDescs{
		desired:         desc("desired_replicas", "Replicas the last decision wants.", svc...),
		current:         desc("current_replicas", "Replicas requested in the cluster (DGDSA spec.replicas) when the decision was made.", svc...),
		ready:           desc("ready_replicas", "Ready replicas (DGD status) when the decision was made.", svc...),
		need:            desc("raw_need_replicas", "Replica need from sizing, before guards, stabilisation, budget and clamps.", svc...),
		held:            desc("held", "1 when missing observations made the planner hold the service's count.", svc...),
		conflicting:     desc("conflicting_writer", "1 while tidal leaves a service alone because another writer changed its replicas (Event ConflictingWriter); 0 otherwise.", svc...),
		bounds:          desc("replica_bounds", "Effective min and max replicas (schedules applied).", with(lBound)...),
		plannedLoad:     desc("planned_load", "Load the service was sized for: max(observed x reserve, forecast point value) x (1 + headroom); rates per second.", with(lSignal)...),
		reasons:         desc("decision_reasons_total", "Reasons recorded by decisions, by pipeline step and code.", with(lStep, lCode)...),
		observed:        desc("observed", "Last observed signal value (seconds, per second, tokens, or 0..1); absent when missing.", lPolicy, lSignal),
		missing:         desc("observation_missing", "1 when the signal was missing at the last tick.", lPolicy, lSignal),
		gpus:            desc("desired_gpus", "GPUs the desired replicas use.", lPolicy),
		shortfall:       desc("budget_shortfall_gpus", "GPUs the services needed beyond the budget.", lPolicy),
		lastTick:        desc("last_tick_timestamp_seconds", "Unix time of the policy's last tick.", lPolicy),
		sloTarget:       desc("slo_target_seconds", "The policy's latency target, by the observed signal it bounds (ttftPercentile, itlPercentile) and its percentile.", lPolicy, lSignal, "percentile"),
		objective:       desc("slo_objective_ratio", objectiveHelp, lPolicy),
		budget:          desc("budget_gpus", "The policy's GPU budget (spec.budget.maxGPUs); absent when unbounded.", lPolicy),
		lastOK:          desc("last_tick_succeeded", "1 when the policy's last tick decided and nothing it read or wrote failed, else 0.", lPolicy),
		errors:          desc("errors_total", "Tick errors by stage and kind.", lPolicy, lStage, lKind),
		decisions:       desc("decisions_total", "Ticks by outcome (applied, no-change, dry-run, follower, failed).", lPolicy, lOutcome),
		risk:            desc("error_budget_risk", "The error budget's risk level for the service: 0.01 (tightest margins) to 0.6 (loosest); absent for services it does not charge.", svc...),
		reserveQuantile: desc("reserve_quantile", "Quantile of load growth over the lead time the service's reserve plans at (1 - risk, 0.7 to 0.99).", svc...),
		burn:            desc("error_budget_burn_ratio", "Miss fraction of the latency the service drives over the last twenty minutes, over its share of the error budget; above 1 it burns faster than the objective allows. Absent while the attainment is unknown.", svc...),
		spent:           desc("error_budget_spent_ratio", "Miss fraction over the SLO's objective window, over the service's share of the error budget; at 1 or above the window's budget is spent. Absent while the attainment is unknown.", svc...),
	}}
}

// policySeries are one policy's series values.
type policySeries struct {
	pair             *dto.LabelPair // policy="name"
	ticked           bool           // lastTick, lastOK, slo and budget are set
	lastTick, lastOK float64
	slo              [2]sloSeries // by sloSignals
	objective        float64      // Policy.SLO.Objective, a fraction; absent when 0
	budget           float64      // absent when 0
	decided          bool         // gpus, shortfall and the observation series are set
	gpus, shortfall  float64
	observed         []float64 // by signalNames; present where the bit of present is set
	present, missing uint32    // bit i: signalNames[i]
	services         []*serviceSeries
	errors           []count // a: stage, b: kind
	decisions        []count // a: outcome
}

// objectiveHelp is tidal_slo_objective_ratio's help. The rule file's request-based SLO alerts
// and the dashboard read the error budget, 1 - this, from it, so each policy's objective holds.
const objectiveHelp = "The policy's attainment objective (spec.slo.objective) as a ratio: the fraction of requests that must meet both latency targets over spec.slo.objectiveWindow; 1 - it is the error budget."

// objectiveRatio is the policy's objective (a fraction in a Policy), 0 when it is not one in
// (0, 1): a policy not defaulted has none.
func objectiveRatio(p policies.Policy) float64 {
	if o := p.SLO.Objective; o > 0 && o < 1 {
		return o
	}
	return 0
}

// sloSignals are the observed signals an SLO target bounds, in policySeries.slo's order.
var sloSignals = [2]policies.Signal{policies.SignalTTFTPercentile, policies.SignalITLPercentile}

// sloSeries is one tidal_slo_target_seconds series, when set.
type sloSeries struct {
	set        bool
	percentile string
	target     float64
}

// serviceSeries are one service's series values, keyed by namespace, deployment and name.
type serviceSeries struct {
	namespace, deployment, name                      string
	pairs                                            [3]*dto.LabelPair // namespace, deployment, service
	desired, current, ready, need, held, conflicting float64
	hasBounds                                        bool
	min, max                                         float64
	load                                             [3]float64 // by loadSignals
	reasons                                          []count    // a: step, b: code
	budget                                           planner.ErrorBudget
}

// loadSignals are tidal_planned_load's signal labels, in serviceSeries.load's order.
var loadSignals = [3]string{"request_rate", "input_token_rate", "output_token_rate"}

// count is a counter series: two label values, the running total and when it was created.
type count struct {
	a, b    string
	n       float64
	created *timestamppb.Timestamp
}

// inc adds one to the series labelled a, b, creating it at zero first.
func inc(cs []count, a, b string) []count {
	for i := range cs {
		if cs[i].a == a && cs[i].b == b {
			cs[i].n++
			return cs
		}
	}
	return append(cs, count{a: a, b: b, n: 1, created: timestamppb.Now()})
}

// policy returns the series of a policy, creating them empty. The caller holds mu.
func (c *policyCollector) policy(name string) *policySeries {
	ps := c.policies[name]
	if ps == nil {
		ps = &policySeries{pair: labelPair(lPolicy, name)}
		c.policies[name] = ps
	}
	return ps
}

// record updates the series from one tick.
func (c *policyCollector) record(t planner.Tick, classify func(error) string) {
	kinds := make([]string, len(t.Errors)) // classified outside the lock
	for i, e := range t.Errors {
		kinds[i] = classify(e.Err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := c.policy(t.Policy.Name)
	ps.ticked = true
	ps.lastTick = float64(t.Time.UnixNano()) / 1e9
	ps.recordPolicy(t)
	for i, e := range t.Errors {
		ps.errors = inc(ps.errors, string(e.Stage), kinds[i])
	}
	if t.Outcome == "" {
		return
	}
	ps.decisions = inc(ps.decisions, string(t.Outcome), "")
	if t.Outcome == planner.OutcomeFailed {
		return
	}
	ps.recordObservations(t.Observations)
	ps.decided = true
	ps.gpus, ps.shortfall = float64(t.Decision.GPUs), float64(t.Decision.ShortfallGPUs)
	for _, s := range t.Decision.Services {
		ps.service(t.Policy.Target.Namespace, t.Policy.Target.Deployment, s.Name).record(t, s)
	}
}

// observeFailed counts one tick whose Prometheus reads failed with kind.
func (c *policyCollector) observeFailed(policy, kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := c.policy(policy)
	ps.errors = inc(ps.errors, string(planner.StageObserve), kind)
}

// forget deletes every series of a policy (it was removed by a reload).
func (c *policyCollector) forget(policy string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.policies, policy)
}

// recordPolicy sets the SLO targets, the budget and whether the tick succeeded.
func (ps *policySeries) recordPolicy(t planner.Tick) {
	p := t.Policy
	for i, slo := range [2]policies.LatencySLO{p.SLO.TTFT, p.SLO.ITL} {
		ps.slo[i] = sloSeries{}
		if slo.Target > 0 {
			ps.slo[i] = sloSeries{set: true, percentile: strconv.FormatFloat(slo.Percentile, 'g', -1, 64),
				target: slo.Target.Seconds()}
		}
	}
	ps.objective = objectiveRatio(p)
	ps.budget = float64(max(p.Budget.MaxGPUs, 0))
	ps.lastOK = boolFloat(tickOK(t))
}

// recordObservations sets the observed signals; a missing one's series is absent.
func (ps *policySeries) recordObservations(o planner.Observations) {
	svs := signalValues(o)
	if ps.observed == nil {
		ps.observed = make([]float64, len(svs))
	}
	ps.present, ps.missing = 0, 0
	for i, sv := range svs {
		if sv.v.OK {
			ps.observed[i] = sv.v.V
			ps.present |= 1 << i
		} else {
			ps.missing |= 1 << i
		}
	}
}

// service returns a service's series, creating them empty.
func (ps *policySeries) service(namespace, deployment, name string) *serviceSeries {
	for _, s := range ps.services {
		if s.namespace == namespace && s.deployment == deployment && s.name == name {
			return s
		}
	}
	s := &serviceSeries{namespace: namespace, deployment: deployment, name: name, pairs: [3]*dto.LabelPair{
		labelPair(lNamespace, namespace), labelPair(lDeployment, deployment), labelPair(lService, name)}}
	ps.services = append(ps.services, s)
	return s
}

// record sets one service's series from its decision.
func (s *serviceSeries) record(t planner.Tick, d planner.ServiceDecision) {
	s.desired, s.current, s.ready, s.need = float64(d.Desired), float64(d.Current), float64(d.Ready), d.Need
	s.held, s.conflicting = boolFloat(d.Held), boolFloat(backingOff(d))
	if b, ok := t.Policy.BoundsAt(d.Name, t.Time); ok {
		s.hasBounds, s.min, s.max = true, float64(b.Min), float64(b.Max)
	}
	s.load = [3]float64{d.Load.RequestRate, d.Load.InputTokenRate, d.Load.OutputTokenRate}
	s.budget = d.Budget
	for _, r := range d.Reasons {
		s.reasons = inc(s.reasons, string(r.Step), string(r.Code))
	}
}
