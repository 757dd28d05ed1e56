package ops

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// Metric label names.
const (
	lPolicy     = "policy"
	lNamespace  = "namespace"
	lDeployment = "deployment"
	lService    = "service"
	lSignal     = "signal"
	lBound      = "bound"
	lStep       = "step"
	lCode       = "code"
	lStage      = "stage"
	lKind       = "kind"
	lOutcome    = "outcome"
	lResult     = "result"
)

// serviceLabels are the labels of per-service series.
var serviceLabels = []string{lPolicy, lNamespace, lDeployment, lService}

// metrics holds tidal's own collectors.
type metrics struct {
	desired, current, ready, need, held *prometheus.GaugeVec
	bounds, plannedLoad                 *prometheus.GaugeVec
	observed, missing                   *prometheus.GaugeVec
	gpus, shortfall, lastTick           *prometheus.GaugeVec
	sloTarget, budget, lastOK           *prometheus.GaugeVec
	reasons, errors, decisions          *prometheus.CounterVec
	reloads                             *prometheus.CounterVec
	tickDuration                        prometheus.Histogram
	leader, policies, sourceOK          prometheus.Gauge
	conflicting                         *prometheus.GaugeVec
}

func gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "tidal", Name: name, Help: help}, labels)
}

func counter(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tidal", Name: name, Help: help}, labels)
}

// newMetrics creates the collectors and registers them (and the Go and process collectors)
// on reg.
func newMetrics(reg prometheus.Registerer) *metrics {
	svc := serviceLabels
	m := &metrics{
		desired:     gauge("desired_replicas", "Replicas the last decision wants.", svc...),
		current:     gauge("current_replicas", "Replicas requested in the cluster (DGDSA spec.replicas) when the decision was made.", svc...),
		ready:       gauge("ready_replicas", "Ready replicas (DGD status) when the decision was made.", svc...),
		need:        gauge("raw_need_replicas", "Replica need from sizing, before guards, stabilisation, budget and clamps.", svc...),
		held:        gauge("held", "1 when missing observations made the planner hold the service's count.", svc...),
		bounds:      gauge("replica_bounds", "Effective min and max replicas (schedules applied).", append(svc, lBound)...),
		plannedLoad: gauge("planned_load", "Load the service was sized for: max(observed x reserve, forecast point value) x (1 + headroom); rates per second.", append(svc, lSignal)...),
		observed:    gauge("observed", "Last observed signal value (seconds, per second, tokens, or 0..1); absent when missing.", lPolicy, lSignal),
		missing:     gauge("observation_missing", "1 when the signal was missing at the last tick.", lPolicy, lSignal),
		gpus:        gauge("desired_gpus", "GPUs the desired replicas use.", lPolicy),
		shortfall:   gauge("budget_shortfall_gpus", "GPUs the services needed beyond the budget.", lPolicy),
		lastTick:    gauge("last_tick_timestamp_seconds", "Unix time of the policy's last tick.", lPolicy),
		sloTarget:   gauge("slo_target_seconds", "The policy's latency target, by the observed signal it bounds (ttftPercentile, itlPercentile) and its percentile.", lPolicy, lSignal, "percentile"),
		budget:      gauge("budget_gpus", "The policy's GPU budget (spec.budget.maxGPUs); absent when unbounded.", lPolicy),
		lastOK:      gauge("last_tick_succeeded", "1 when the policy's last tick decided and nothing it read or wrote failed, else 0.", lPolicy),
		reasons:     counter("decision_reasons_total", "Reasons recorded by decisions, by pipeline step and code.", append(svc, lStep, lCode)...),
		errors:      counter("errors_total", "Tick errors by stage and kind.", lPolicy, lStage, lKind),
		decisions:   counter("decisions_total", "Ticks by outcome (applied, no-change, dry-run, follower, failed).", lPolicy, lOutcome),
		reloads:     counter("policy_reloads_total", "Policy reloads by result (applied, rejected, unreadable: counted once per new problem reading the files).", lResult),
		tickDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "tidal", Name: "tick_duration_seconds",
			Help: "Duration of one policy tick (observe, plan, apply).", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		leader:   prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tidal", Name: "leader", Help: "1 while this process holds the leader lease (or runs without election)."}),
		policies: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tidal", Name: "policies", Help: "Policies being planned."}),
		sourceOK: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tidal", Name: "policy_source_ok",
			Help: "1 when the policy files were readable at the last reload poll and are the running set; 0 while unreadable, emptied or rejected."}),
	}
	m.conflicting = gauge("conflicting_writer", "1 while tidal leaves a service alone because another writer changed its replicas (Event ConflictingWriter); 0 otherwise.", svc...)
	m.sourceOK.Set(1)
	reg.MustRegister(m.desired, m.current, m.ready, m.need, m.held, m.bounds, m.plannedLoad, m.observed,
		m.missing, m.gpus, m.shortfall, m.lastTick, m.sloTarget, m.budget, m.lastOK, m.reasons, m.errors, m.decisions, m.reloads,
		m.tickDuration, m.leader, m.policies, m.sourceOK, m.conflicting,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// record updates the metrics from one tick.
func (m *metrics) record(t planner.Tick, classify func(error) string) {
	p := t.Policy
	m.lastTick.WithLabelValues(p.Name).Set(float64(t.Time.UnixNano()) / 1e9)
	m.recordPolicy(p, t)
	if t.Duration > 0 {
		m.tickDuration.Observe(t.Duration.Seconds())
	}
	for _, e := range t.Errors {
		m.errors.WithLabelValues(p.Name, string(e.Stage), classify(e.Err)).Inc()
	}
	if t.Outcome == "" {
		return
	}
	m.decisions.WithLabelValues(p.Name, string(t.Outcome)).Inc()
	if t.Outcome == planner.OutcomeFailed {
		return
	}
	m.recordObservations(p.Name, t.Observations)
	m.gpus.WithLabelValues(p.Name).Set(float64(t.Decision.GPUs))
	m.shortfall.WithLabelValues(p.Name).Set(float64(t.Decision.ShortfallGPUs))
	for _, s := range t.Decision.Services {
		m.recordService(p, t, s)
	}
}

// recordPolicy updates the policy-level series: SLO targets, budget, and whether the tick succeeded.
func (m *metrics) recordPolicy(p policies.Policy, t planner.Tick) {
	for sig, slo := range map[policies.Signal]policies.LatencySLO{
		policies.SignalTTFTPercentile: p.SLO.TTFT, policies.SignalITLPercentile: p.SLO.ITL} {
		m.sloTarget.DeletePartialMatch(prometheus.Labels{lPolicy: p.Name, lSignal: string(sig)})
		if slo.Target > 0 {
			pct := strconv.FormatFloat(slo.Percentile, 'g', -1, 64)
			m.sloTarget.WithLabelValues(p.Name, string(sig), pct).Set(slo.Target.Seconds())
		}
	}
	if p.Budget.MaxGPUs > 0 {
		m.budget.WithLabelValues(p.Name).Set(float64(p.Budget.MaxGPUs))
	} else {
		m.budget.DeleteLabelValues(p.Name)
	}
	m.lastOK.WithLabelValues(p.Name).Set(boolFloat(tickOK(t)))
}

// recordService updates one service's series.
func (m *metrics) recordService(p policies.Policy, t planner.Tick, s planner.ServiceDecision) {
	lv := []string{p.Name, p.Target.Namespace, p.Target.Deployment, s.Name}
	m.desired.WithLabelValues(lv...).Set(float64(s.Desired))
	m.current.WithLabelValues(lv...).Set(float64(s.Current))
	m.ready.WithLabelValues(lv...).Set(float64(s.Ready))
	m.need.WithLabelValues(lv...).Set(s.Need)
	m.held.WithLabelValues(lv...).Set(boolFloat(s.Held))
	m.conflicting.WithLabelValues(lv...).Set(boolFloat(backingOff(s)))
	if b, ok := p.BoundsAt(s.Name, t.Time); ok {
		m.bounds.WithLabelValues(append(lv, "min")...).Set(float64(b.Min))
		m.bounds.WithLabelValues(append(lv, "max")...).Set(float64(b.Max))
	}
	for sig, v := range map[string]float64{"request_rate": s.Load.RequestRate,
		"input_token_rate": s.Load.InputTokenRate, "output_token_rate": s.Load.OutputTokenRate} {
		m.plannedLoad.WithLabelValues(append(lv, sig)...).Set(v)
	}
	for _, r := range s.Reasons {
		m.reasons.WithLabelValues(append(lv, string(r.Step), string(r.Code))...).Inc()
	}
}

// recordObservations sets the observed signals, deleting the series of missing ones.
func (m *metrics) recordObservations(policy string, o planner.Observations) {
	for _, sv := range signalValues(o) {
		if sv.v.OK {
			m.observed.WithLabelValues(policy, sv.name).Set(sv.v.V)
		} else {
			m.observed.DeleteLabelValues(policy, sv.name)
		}
		m.missing.WithLabelValues(policy, sv.name).Set(boolFloat(!sv.v.OK))
	}
}

// forget deletes every series of a policy (it was removed by a reload).
func (m *metrics) forget(policy string) {
	l := prometheus.Labels{lPolicy: policy}
	for _, g := range []*prometheus.GaugeVec{m.desired, m.current, m.ready, m.need, m.held, m.bounds,
		m.plannedLoad, m.observed, m.missing, m.gpus, m.shortfall, m.lastTick, m.sloTarget, m.budget, m.lastOK, m.conflicting} {
		g.DeletePartialMatch(l)
	}
	for _, c := range []*prometheus.CounterVec{m.reasons, m.errors, m.decisions} {
		c.DeletePartialMatch(l)
	}
}

// namedValue is one observed signal with its metric label value.
type namedValue struct {
	name string
	v    planner.Value
}

// signalValues lists the deployment-level observations under their policy signal names.
func signalValues(o planner.Observations) []namedValue {
	return []namedValue{
		{string(policies.SignalRequestRate), o.RequestRate}, {string(policies.SignalInputTokens), o.InputTokens},
		{string(policies.SignalOutputTokens), o.OutputTokens}, {string(policies.SignalTTFT), o.TTFT},
		{string(policies.SignalTTFTPercentile), o.TTFTPercentile}, {string(policies.SignalITL), o.ITL},
		{string(policies.SignalITLPercentile), o.ITLPercentile}, {string(policies.SignalQueueDepth), o.QueueDepth},
		{string(policies.SignalInflight), o.Inflight}, {string(policies.SignalKVUsage), o.KVUsage},
		{string(policies.SignalArrivalCV), o.ArrivalCV},
		{string(policies.SignalInputTokensPercentile), o.InputTokensPercentile},
		{string(policies.SignalOutputTokensPercentile), o.OutputTokensPercentile},
		{string(policies.SignalTTFTAttained), o.TTFTAttained}, {string(policies.SignalITLAttained), o.ITLAttained},
	}
}

// backingOff reports whether the decision leaves the service to another writer.
func backingOff(s planner.ServiceDecision) bool {
	for _, r := range s.Reasons {
		if r.Code == planner.CodeWriterBackoff {
			return true
		}
	}
	return false
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// DefaultKind classifies the errors every stage can produce: "timeout", "canceled", "panic",
// else "error". Callers with richer error types (the actuator's) wrap it.
func DefaultKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case strings.HasPrefix(err.Error(), "panic: "):
		return "panic"
	}
	return "error"
}
