package policies

// This file holds the document types: the YAML an operator writes, field for field.
// They are mutable and unvalidated; New turns a Spec into an immutable, validated Policy.

// APIVersion is the only apiVersion a policy file may declare.
const APIVersion = "tidal.dev/v1alpha1"

// Kind is the only kind a policy file may declare.
const Kind = "Policy"

// Document is one policy file as written: a Kubernetes-style envelope around a Spec.
type Document struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       Spec     `yaml:"spec"`
}

// Metadata names the policy. Name is required and appears in logs, events and metrics.
type Metadata struct {
	Name        string            `yaml:"name"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Spec describes one Dynamo deployment (a DGD) and how to plan it.
type Spec struct {
	Target           TargetSpec     `yaml:"target"`
	Mode             Mode           `yaml:"mode,omitempty"`
	Services         []ServiceSpec  `yaml:"services"`
	SLO              SLOSpec        `yaml:"slo"`
	Metrics          MetricsSpec    `yaml:"metrics,omitempty"`
	Planning         PlanningSpec   `yaml:"planning,omitempty"`
	Stability        StabilitySpec  `yaml:"stability,omitempty"`
	Budget           BudgetSpec     `yaml:"budget,omitempty"`
	Schedules        []ScheduleSpec `yaml:"schedules,omitempty"`
	PerformanceModel ModelSpec      `yaml:"performanceModel,omitempty"`
}

// TargetSpec names the DynamoGraphDeployment being planned.
type TargetSpec struct {
	Namespace  string   `yaml:"namespace"`
	Deployment string   `yaml:"deployment"`
	Topology   Topology `yaml:"topology"`
}

// ServiceSpec is one DGD service as the planner sees it.
type ServiceSpec struct {
	// Name is the key of the service in the DGD's spec.services map (case-sensitive).
	Name string `yaml:"name"`
	Role Role   `yaml:"role"`
	// MinReplicas defaults to 1 (0 is allowed only with actuation keda, which owns 0<->1).
	MinReplicas *int32 `yaml:"minReplicas,omitempty"`
	MaxReplicas int32  `yaml:"maxReplicas"`
	// GPUsPerReplica, when 0, is read from the DGD (multinode.nodeCount x resources.limits.gpu).
	GPUsPerReplica int32     `yaml:"gpusPerReplica,omitempty"`
	StartupTime    Duration  `yaml:"startupTime,omitempty"`
	Actuation      Actuation `yaml:"actuation,omitempty"`
	// RequestsPerSecondPerReplica is the request-rate capacity of one frontend replica.
	RequestsPerSecondPerReplica float64 `yaml:"requestsPerSecondPerReplica,omitempty"`
}

// SLOSpec holds the latency objectives the planner sizes for, and the attainment objective its
// error budget is judged by.
type SLOSpec struct {
	TTFT LatencySLOSpec `yaml:"ttft"`
	ITL  LatencySLOSpec `yaml:"itl"`
	// Objective is the percent of requests that must meet both the TTFT and the ITL target,
	// judged over ObjectiveWindow (default 99, at least the higher percentile).
	Objective float64 `yaml:"objective,omitempty"`
	// ObjectiveWindow is the rolling window the objective is judged over (default 24h).
	ObjectiveWindow Duration `yaml:"objectiveWindow,omitempty"`
}

// LatencySLOSpec is one latency objective: Percentile of the latency must be <= Target.
type LatencySLOSpec struct {
	Target     Duration `yaml:"target"`
	Percentile float64  `yaml:"percentile,omitempty"`
}

// MetricsSpec says where and how to read the live signals.
type MetricsSpec struct {
	Prometheus      PrometheusSpec    `yaml:"prometheus,omitempty"`
	Model           string            `yaml:"model,omitempty"`
	DynamoNamespace string            `yaml:"dynamoNamespace,omitempty"`
	Window          Duration          `yaml:"window,omitempty"`
	Queries         map[Signal]string `yaml:"queries,omitempty"`
}

// PrometheusSpec is the Prometheus HTTP API endpoint.
type PrometheusSpec struct {
	URL     string   `yaml:"url,omitempty"`
	Timeout Duration `yaml:"timeout,omitempty"`
}

// PlanningSpec sets the cadence and the forecast.
type PlanningSpec struct {
	Interval Duration     `yaml:"interval,omitempty"`
	Headroom *float64     `yaml:"headroom,omitempty"`
	Forecast ForecastSpec `yaml:"forecast,omitempty"`
}

// ForecastSpec chooses the load forecaster and its options.
type ForecastSpec struct {
	Method      string   `yaml:"method,omitempty"`
	Coverage    float64  `yaml:"coverage,omitempty"`
	Seasonality Duration `yaml:"seasonality,omitempty"`
	History     Duration `yaml:"history,omitempty"`
}

// StabilitySpec bounds how fast and how often replicas change.
type StabilitySpec struct {
	ScaleDownWindow Duration `yaml:"scaleDownWindow,omitempty"`
	// ScaleDownTolerance is a pointer so that an explicit 0 (no tolerance) differs from absent.
	ScaleDownTolerance *float64 `yaml:"scaleDownTolerance,omitempty"`
	MaxStepUp          int32    `yaml:"maxStepUp,omitempty"`
	MaxStepDown        int32    `yaml:"maxStepDown,omitempty"`
	ScaleUpCooldown    Duration `yaml:"scaleUpCooldown,omitempty"`
	ScaleDownCooldown  Duration `yaml:"scaleDownCooldown,omitempty"`
	StartupTimeout     Duration `yaml:"startupTimeout,omitempty"`
	ConflictBackoff    Duration `yaml:"conflictBackoff,omitempty"`
}

// BudgetSpec caps the deployment's GPUs. MaxGPUs 0 means no cap.
type BudgetSpec struct {
	MaxGPUs int32 `yaml:"maxGPUs,omitempty"`
}

// ScheduleSpec raises floors or lowers ceilings while a cron window is active.
type ScheduleSpec struct {
	Name     string                  `yaml:"name"`
	Cron     string                  `yaml:"cron"`
	TimeZone string                  `yaml:"timeZone,omitempty"`
	Duration Duration                `yaml:"duration"`
	Services map[string]OverrideSpec `yaml:"services"`
}

// OverrideSpec replaces a service's bounds while its schedule is active; nil keeps the policy's.
type OverrideSpec struct {
	MinReplicas *int32 `yaml:"minReplicas,omitempty"`
	MaxReplicas *int32 `yaml:"maxReplicas,omitempty"`
}

// ModelSpec chooses the performance model.
type ModelSpec struct {
	// Profile is a Dynamo profiler output directory (*_raw_data.json or .npz); empty = learn online.
	Profile string `yaml:"profile,omitempty"`
	// Learn enables online learning/calibration from observations (default true).
	Learn *bool `yaml:"learn,omitempty"`
	// MaxBatchedTokens is the engines' prefill token budget per step (vLLM
	// max_num_batched_tokens; default DefaultMaxBatchedTokens).
	MaxBatchedTokens int32 `yaml:"maxBatchedTokens,omitempty"`
}
