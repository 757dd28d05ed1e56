package ops

import (
	"context"
	"errors"
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

// metrics holds tidal's own collectors: the per-policy series (rendered at scrape time) and the
// process-wide ones.
type metrics struct {
	series                     *policyCollector
	reloads                    *prometheus.CounterVec
	tickDuration               prometheus.Histogram
	leader, policies, sourceOK prometheus.Gauge
}

// newMetrics creates the collectors and registers them (and the Go and process collectors)
// on reg.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		series: newPolicyCollector(),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tidal", Name: "policy_reloads_total",
			Help: "Policy reloads by result (applied, rejected, unreadable: counted once per new problem reading the files)."}, []string{lResult}),
		tickDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "tidal", Name: "tick_duration_seconds",
			Help: "Duration of one policy tick (observe, plan, apply).", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		leader:   prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tidal", Name: "leader", Help: "1 while this process holds the leader lease (or runs without election)."}),
		policies: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tidal", Name: "policies", Help: "Policies being planned."}),
		sourceOK: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tidal", Name: "policy_source_ok",
			Help: "1 when the policy files were readable at the last reload poll and are the running set; 0 while unreadable, emptied or rejected."}),
	}
	m.sourceOK.Set(1)
	reg.MustRegister(m.series, m.reloads, m.tickDuration, m.leader, m.policies, m.sourceOK,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// record updates the metrics from one tick.
func (m *metrics) record(t planner.Tick, classify func(error) string) {
	m.series.record(t, classify)
	if t.Duration > 0 {
		m.tickDuration.Observe(t.Duration.Seconds())
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
