package policies

import (
	"time"
)

// Defaults. Every default a policy gets is set by applyDefaults, and only there; docs/policy.md
// lists the same values. An absent field takes its default; a field whose default is not zero
// cannot be set to zero, and writing 0 for one is an error (zeros.go) rather than a silent default
// (use the smallest meaningful value instead, e.g. scaleDownWindow: 1s).
const (
	// DefaultMode applies decisions.
	DefaultMode = ModeApply
	// DefaultMinReplicas is a service's floor.
	DefaultMinReplicas int32 = 1
	// DefaultActuation writes the DGDSA scale subresource.
	DefaultActuation = ActuationScale
	// DefaultStartupTime is how long a new replica takes to serve (model download and load).
	DefaultStartupTime = 5 * time.Minute
	// DefaultPercentile is the percentile TTFT and ITL targets apply to (p90).
	DefaultPercentile = 90.0
	// DefaultObjective is the percent of requests that must meet both latency targets over the
	// objective window (a 1% error budget). When a latency percentile is higher, the objective
	// defaults to that percentile instead: a p99.5 target already asks that much.
	DefaultObjective = 99.0
	// DefaultObjectiveWindow is the rolling window the objective is judged over (one day, the
	// load's usual period, so the budget spans a whole daily cycle).
	DefaultObjectiveWindow = 24 * time.Hour
	// MaxObjectiveWindow is the longest objective window a policy may set (30 days): the error
	// budget must react within a month, and longer windows remember incidents long fixed.
	MaxObjectiveWindow = 30 * 24 * time.Hour
	// DefaultPrometheusURL is the prometheus-operator's governing service in namespace monitoring
	// (kube-prometheus-stack's usual install).
	DefaultPrometheusURL = "http://prometheus-operated.monitoring.svc:9090"
	// DefaultPrometheusTimeout bounds one Prometheus query.
	DefaultPrometheusTimeout = 5 * time.Second
	// DefaultWindow is the range of windowed queries (rate, increase, histogram_quantile).
	DefaultWindow = time.Minute
	// DefaultInterval is the planning cadence.
	DefaultInterval = 60 * time.Second
	// DefaultHeadroom is the fraction added on top of the planned load: none, since the reserve
	// (the load's own growth over the lead time, at the risk level the error budget sets) is the
	// margin. It applies on top of the forecast's upper bound while the reserve is cold.
	DefaultHeadroom = 0.0
	// DefaultForecastMethod lets the forecaster choose by backtest.
	DefaultForecastMethod = "auto"
	// DefaultCoverage is the prediction-interval coverage whose upper bound the planner sizes for.
	DefaultCoverage = 0.9
	// DefaultSeasonality is the load's period (daily).
	DefaultSeasonality = 24 * time.Hour
	// DefaultHistory is how much past load the forecaster reads (14 days).
	DefaultHistory = 14 * 24 * time.Hour
	// DefaultScaleDownWindow is how long a lower need must hold before a scale-down.
	DefaultScaleDownWindow = 5 * time.Minute
	// DefaultMaxBatchedTokens is an engine's prefill token budget per step: vLLM's default
	// max_num_batched_tokens for its OpenAI server on GPUs of 70 GiB or more other than the A100
	// (H100, H200, MI300X; vllm/engine/arg_utils.py, EngineArgs.get_batch_defaults; 2048 on
	// smaller GPUs). The simulated engines' sim.DefaultPrefillTokenBudget is defined from it.
	DefaultMaxBatchedTokens int32 = 8192
	// DefaultScaleDownTolerance is the margin a scale-down must clear: the smaller count must
	// carry the planned load x (1 + tolerance), so a load that hovers at a count boundary does not
	// flap across it. 0.1 is the Kubernetes HPA's default --horizontal-pod-autoscaler-tolerance
	// (kube-controller-manager; pkg/controller/podautoscaler, 0.1).
	DefaultScaleDownTolerance = 0.1
	// DefaultMaxStepDown is how many replicas one decision removes at most: no limit (0), so a
	// service goes down to its need in one step once the scale-down window has held.
	DefaultMaxStepDown int32 = 0
	// DefaultStartupTimeout is how long a scale-up may stay unready before the planner stops
	// waiting for it.
	DefaultStartupTimeout = 15 * time.Minute
	// DefaultConflictBackoff is how long another writer must stay quiet before tidal writes a
	// service it changed again: as long as the default scale-down window, so a fight with another
	// autoscaler costs at most one write per service every five minutes.
	DefaultConflictBackoff = 5 * time.Minute
)

// Defaults with a zero value, listed for the documentation: maxStepUp 0 (no limit), scaleUpCooldown
// 0, scaleDownCooldown 0, budget.maxGPUs 0 (no cap), gpusPerReplica 0 (read from the DGD), schedule
// time zone UTC, metrics.model "" (no model filter), performanceModel.profile "" (learn online).

// applyDefaults fills every unset field of d in place. d must be a deep copy the caller owns.
// metrics.dynamoNamespace defaults to "<namespace>-<deployment>", the label Dynamo's PodMonitor adds.
func applyDefaults(d *Document) {
	s := &d.Spec
	if s.Mode == "" {
		s.Mode = DefaultMode
	}
	for i := range s.Services {
		applyServiceDefaults(&s.Services[i])
	}
	defaultPercentile(&s.SLO.TTFT.Percentile)
	defaultPercentile(&s.SLO.ITL.Percentile)
	defaultObjective(&s.SLO)
	defaultDuration(&s.SLO.ObjectiveWindow, DefaultObjectiveWindow)
	m := &s.Metrics
	defaultString(&m.Prometheus.URL, DefaultPrometheusURL)
	defaultDuration(&m.Prometheus.Timeout, DefaultPrometheusTimeout)
	defaultDuration(&m.Window, DefaultWindow)
	if m.DynamoNamespace == "" && s.Target.Namespace != "" && s.Target.Deployment != "" {
		m.DynamoNamespace = s.Target.Namespace + "-" + s.Target.Deployment
	}
	p := &s.Planning
	defaultDuration(&p.Interval, DefaultInterval)
	if p.Headroom == nil {
		h := DefaultHeadroom
		p.Headroom = &h
	}
	defaultString(&p.Forecast.Method, DefaultForecastMethod)
	if p.Forecast.Coverage == 0 {
		p.Forecast.Coverage = DefaultCoverage
	}
	defaultDuration(&p.Forecast.Seasonality, DefaultSeasonality)
	defaultDuration(&p.Forecast.History, DefaultHistory)
	st := &s.Stability
	defaultDuration(&st.ScaleDownWindow, DefaultScaleDownWindow)
	if st.ScaleDownTolerance == nil {
		t := DefaultScaleDownTolerance
		st.ScaleDownTolerance = &t
	}
	defaultDuration(&st.StartupTimeout, DefaultStartupTimeout)
	defaultDuration(&st.ConflictBackoff, DefaultConflictBackoff)
	if s.PerformanceModel.Learn == nil {
		t := true
		s.PerformanceModel.Learn = &t
	}
	if s.PerformanceModel.MaxBatchedTokens == 0 {
		s.PerformanceModel.MaxBatchedTokens = DefaultMaxBatchedTokens
	}
}

func applyServiceDefaults(svc *ServiceSpec) {
	if svc.MinReplicas == nil {
		m := DefaultMinReplicas
		svc.MinReplicas = &m
	}
	defaultDuration(&svc.StartupTime, DefaultStartupTime)
	if svc.Actuation == "" {
		svc.Actuation = DefaultActuation
	}
}

func defaultPercentile(p *float64) {
	if *p == 0 {
		*p = DefaultPercentile
	}
}

// defaultObjective sets an absent objective to DefaultObjective, or to the higher latency
// percentile when that is stricter. Percentiles must already have their defaults.
func defaultObjective(s *SLOSpec) {
	if s.Objective != 0 {
		return
	}
	s.Objective = DefaultObjective
	for _, p := range []float64{s.TTFT.Percentile, s.ITL.Percentile} {
		if p > s.Objective && p < 100 {
			s.Objective = p
		}
	}
}

func defaultString[S ~string](s *S, v S) {
	if *s == "" {
		*s = v
	}
}

func defaultDuration(d *Duration, v time.Duration) {
	if d.Duration == 0 {
		d.Duration = v
	}
}
