package policies

import (
	"slices"
	"time"

	"github.com/robfig/cron/v3"
)

// Policy is a validated policy with every default applied. It is immutable: the value fields are
// copies, and slices and maps are reachable only through accessors that copy or look up. A Policy is
// safe for concurrent use by any number of goroutines.
type Policy struct {
	// Name is metadata.name.
	Name string
	// Source is the file the policy was loaded from ("" when built with New).
	Source string

	Target           Target
	Mode             Mode
	SLO              SLO
	Metrics          Metrics
	Planning         Planning
	Stability        Stability
	Budget           Budget
	PerformanceModel PerformanceModel

	services  []Service
	schedules []Schedule
	queries   map[Signal]string
}

// Target names the DGD.
type Target struct {
	Namespace  string
	Deployment string
	Topology   Topology
}

// Service is one planned DGD service, defaults applied.
type Service struct {
	Name        string
	Role        Role
	MinReplicas int32
	MaxReplicas int32
	// GPUsPerReplica is 0 when it must be read from the DGD.
	GPUsPerReplica int32
	StartupTime    time.Duration
	Actuation      Actuation
	// RequestsPerSecondPerReplica is the frontend's per-replica capacity (frontend role only).
	RequestsPerSecondPerReplica float64
}

// SLO holds the latency objectives and the attainment objective of the error budget.
type SLO struct {
	TTFT LatencySLO
	ITL  LatencySLO
	// Objective is the fraction (0 < o < 1; spec.slo.objective / 100) of requests that must meet
	// both the TTFT and the ITL target over ObjectiveWindow: 1 - Objective is the error budget.
	// It is at least each latency percentile / 100 (validation enforces it).
	Objective float64
	// ObjectiveWindow is the rolling window Objective is judged over: longer than the planning
	// interval and the metrics window, at most MaxObjectiveWindow.
	ObjectiveWindow time.Duration
}

// LatencySLO says the Percentile (0 < p < 100) of a latency must stay <= Target.
type LatencySLO struct {
	Target     time.Duration
	Percentile float64
}

// Metrics says where to read signals. Query overrides are reached through Policy.Query.
type Metrics struct {
	// PrometheusURL is the Prometheus HTTP API base URL (http or https, with a host).
	PrometheusURL     string
	PrometheusTimeout time.Duration
	// Model is the frontend's model label value; "" means no model filter.
	Model string
	// DynamoNamespace is the dynamo_namespace label value ("<namespace>-<deployment>" by default).
	DynamoNamespace string
	// Window is the range of the windowed queries (rate, increase, histogram_quantile).
	Window time.Duration
	// ScrapeInterval is how often Prometheus scrapes the Dynamo frontend, as tidal measured it
	// (0: not measured). It is not read from the file: FitScrape sets it, and widens Window to
	// cover WindowScrapes scrapes.
	ScrapeInterval time.Duration
}

// Planning sets the cadence and forecast.
type Planning struct {
	Interval time.Duration
	// Headroom is the fraction added on top of the planned load (0.1 = +10%).
	Headroom float64
	Forecast Forecast
}

// Forecast chooses the forecaster.
type Forecast struct {
	// Method is one of ForecastMethods().
	Method string
	// Coverage is the prediction-interval coverage the planner sizes for, in (0, 1).
	Coverage float64
	// Seasonality is the load's period; at least two planning intervals.
	Seasonality time.Duration
	// History is how much past load to read; at least Seasonality.
	History time.Duration
}

// Stability bounds change. Every value is per service.
type Stability struct {
	// ScaleDownWindow is how long a lower need must hold before a scale-down (> 0).
	ScaleDownWindow time.Duration
	// ScaleDownTolerance is the margin a scale-down must clear, in [0, 1): the smaller count
	// must carry the highest load planned for over the scale-down window x (1 +
	// ScaleDownTolerance). 0 means none.
	ScaleDownTolerance float64
	// MaxStepUp is the most replicas one decision adds; 0 means no limit.
	MaxStepUp int32
	// MaxStepDown is the most replicas one decision removes (0: no limit).
	MaxStepDown int32
	// ScaleUpCooldown is the wait after any change before the next scale-up (>= 0).
	ScaleUpCooldown time.Duration
	// ScaleDownCooldown is the wait after any change before the next scale-down (>= 0).
	ScaleDownCooldown time.Duration
	// StartupTimeout is how long a scale-up may stay unready (desired != ready) before the planner
	// stops waiting for it; it is at least every service's StartupTime.
	StartupTimeout time.Duration
	// ConflictBackoff is how long another writer must leave a service's replicas unchanged
	// before tidal writes them again, once it has seen a change it did not make (> 0).
	ConflictBackoff time.Duration
}

// Budget caps GPUs; MaxGPUs 0 means unbounded.
type Budget struct {
	MaxGPUs int32
}

// PerformanceModel chooses how capacity per replica is known. At least one of Profile and Learn
// is set.
type PerformanceModel struct {
	// Profile is a Dynamo profiler output directory; "" means none. It is not read by policies.
	Profile string
	// Learn enables learning capacity online and calibrating the profile.
	Learn bool
	// MaxBatchedTokens is the most prompt tokens an engine prefills in one step (vLLM
	// max_num_batched_tokens): the batch a profile's peak prefill throughput is read up to.
	MaxBatchedTokens int32
}

// Schedule is a compiled cron window with per-service bound overrides.
type Schedule struct {
	Name string
	// Cron is the expression as written (5 fields or an @descriptor).
	Cron string
	// Location is the time zone the expression is read in (UTC when the file names none).
	Location *time.Location
	// Duration is how long each window lasts, in elapsed time.
	Duration time.Duration

	cron      cron.Schedule
	overrides map[string]Override
}

// Override replaces a service's bounds while a schedule is active. A nil field keeps the policy's.
type Override struct {
	MinReplicas *int32
	MaxReplicas *int32
}

// Services returns a copy of the services in file order.
func (p Policy) Services() []Service { return slices.Clone(p.services) }

// NumServices returns the number of services.
func (p Policy) NumServices() int { return len(p.services) }

// ServiceAt returns the i-th service in file order; it panics if i is out of range.
func (p Policy) ServiceAt(i int) Service { return p.services[i] }

// Service returns the service with the given DGD service name.
func (p Policy) Service(name string) (Service, bool) {
	for _, s := range p.services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// Schedules returns a copy of the schedules in file order.
func (p Policy) Schedules() []Schedule { return slices.Clone(p.schedules) }

// NumSchedules returns the number of schedules.
func (p Policy) NumSchedules() int { return len(p.schedules) }

// ScheduleAt returns the i-th schedule; it panics if i is out of range.
func (p Policy) ScheduleAt(i int) Schedule { return p.schedules[i] }

// Query returns the policy's PromQL override for a signal, if any.
func (p Policy) Query(s Signal) (string, bool) {
	q, ok := p.queries[s]
	return q, ok
}

// Override returns the schedule's override for a service, if any. The pointers in the result are
// fresh copies: changing what they point to does not change the policy.
func (s Schedule) Override(service string) (Override, bool) {
	o, ok := s.overrides[service]
	if !ok {
		return Override{}, false
	}
	return Override{MinReplicas: clonePtr(o.MinReplicas), MaxReplicas: clonePtr(o.MaxReplicas)}, true
}

// ActiveAt reports whether the schedule's window covers t: some cron firing f (in the schedule's
// time zone) satisfies f <= t < f+Duration, i.e. f lies in (t-Duration, t]. Duration is elapsed
// time, so a window that spans a DST change lasts exactly Duration. Windows may overlap (a firing
// inside an earlier firing's window); any covering firing makes the schedule active. Wall-clock
// times skipped by a DST change do not fire; repeated ones fire twice. It is pure, allocates
// nothing, and its work is bounded (see activeat.go).
func (s Schedule) ActiveAt(t time.Time) bool {
	if s.cron == nil || s.Duration <= 0 {
		return false
	}
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	if spec, ok := s.cron.(*cron.SpecSchedule); ok {
		if active, decided := scanBack(spec, loc, t, t.Add(-s.Duration)); decided {
			return active
		}
	}
	return activeByNext(s.cron, loc, t, s.Duration)
}
