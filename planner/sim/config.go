package sim

import (
	"errors"
	"fmt"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/workload"
	"github.com/tidal-planner/tidal/policies"
)

// Request is one request of a workload: when it arrives (offset from the workload's start) and
// how many tokens it reads and writes. It is the trace readers' type, so traces need no copy.
type Request = workload.Request

// Workload is a request trace sorted by arrival, with the span it covers.
type Workload struct {
	Name     string
	Requests []Request
	// Duration is the span the workload covers (>= the last arrival); GPU time is charged over it.
	Duration time.Duration
}

// Service is one simulated DGD service.
type Service struct {
	Name           string
	Role           policies.Role // prefill, decode or aggregated; frontends are not simulated
	GPUsPerReplica int
	StartupTime    time.Duration
	MinReplicas    int
	MaxReplicas    int
	// Initial is the number of replicas serving at time zero (already started).
	Initial int
}

// Deployment is the simulated deployment: its services and engines and the SLO its requests are
// judged against.
type Deployment struct {
	// Services holds one prefill and one decode service (disaggregated) or one aggregated service.
	Services []Service
	Model    *Model
	// TTFT and ITL are the SLO targets: a request meets the SLO when its TTFT and its mean ITL are
	// both within them. The percentiles are the ones the observations report.
	TTFT, ITL                     time.Duration
	TTFTPercentile, ITLPercentile float64
	// PrefillTokenBudget caps the tokens in one prefill batch (vLLM max_num_batched_tokens); a
	// longer request runs alone. MaxBatch caps the sequences in one decode batch (max_num_seqs).
	PrefillTokenBudget int
	MaxBatch           int
	// MaxContext is the longest request (input + output tokens) the engines accept.
	MaxContext int
}

// Defaults for a Deployment's engine limits.
const (
	// DefaultPrefillTokenBudget is vLLM's default max_num_batched_tokens on large GPUs, the value
	// a policy's performanceModel.maxBatchedTokens defaults to (one constant, defined there). The
	// world does not read the policy's field: what the engines do is the world's, not the planner's.
	DefaultPrefillTokenBudget = int(policies.DefaultMaxBatchedTokens)
	DefaultMaxBatch           = 1024
	DefaultMaxContext         = 16384
	// KVBlockSize is the KV-cache block size, tokens, used to report active decode blocks.
	KVBlockSize = 16
)

// DefaultScrapeInterval is the simulated Prometheus's scrape interval when Options sets none.
const DefaultScrapeInterval = 15 * time.Second

// Validate checks the deployment can be simulated.
func (d Deployment) Validate() error {
	var errs []error
	if d.Model == nil {
		errs = append(errs, errors.New("no engine model"))
	}
	var pre, dec, agg int
	for i, s := range d.Services {
		switch s.Role {
		case policies.RolePrefill:
			pre++
		case policies.RoleDecode:
			dec++
		case policies.RoleAggregated:
			agg++
		default:
			errs = append(errs, fmt.Errorf("services[%d] %q: role %q cannot be simulated", i, s.Name, s.Role))
		}
		if s.GPUsPerReplica < 1 || s.MinReplicas < 1 || s.MaxReplicas < s.MinReplicas || s.Initial < 1 {
			errs = append(errs, fmt.Errorf("services[%d] %q: need gpus >= 1, 1 <= min <= max, initial >= 1 (got gpus %d, min %d, max %d, initial %d)",
				i, s.Name, s.GPUsPerReplica, s.MinReplicas, s.MaxReplicas, s.Initial))
		}
	}
	if !(pre == 1 && dec == 1 && agg == 0) && !(agg == 1 && pre == 0 && dec == 0) {
		errs = append(errs, fmt.Errorf("need one prefill and one decode service, or one aggregated service (got %d, %d, %d)", pre, dec, agg))
	}
	if d.TTFT <= 0 || d.ITL <= 0 {
		errs = append(errs, fmt.Errorf("SLO targets must be positive (ttft %v, itl %v)", d.TTFT, d.ITL))
	}
	if d.PrefillTokenBudget < 1 || d.MaxBatch < 1 || d.MaxContext < 1 {
		errs = append(errs, fmt.Errorf("engine limits must be positive (token budget %d, max batch %d, max context %d)",
			d.PrefillTokenBudget, d.MaxBatch, d.MaxContext))
	}
	return errors.Join(errs...)
}

// DeploymentFromPolicy builds the simulated deployment a policy describes: its prefill, decode or
// aggregated services (frontends are not simulated), their bounds and startup times, and the SLO.
// Services whose GPUs per replica the policy leaves to the DGD get the model's GPUs per engine.
// Initial replicas are the services' minimums.
func DeploymentFromPolicy(p policies.Policy, m *Model) (Deployment, error) {
	d := Deployment{
		Model: m, TTFT: p.SLO.TTFT.Target, ITL: p.SLO.ITL.Target,
		TTFTPercentile: p.SLO.TTFT.Percentile, ITLPercentile: p.SLO.ITL.Percentile,
		PrefillTokenBudget: DefaultPrefillTokenBudget, MaxBatch: DefaultMaxBatch, MaxContext: DefaultMaxContext,
	}
	for _, s := range p.Services() {
		if s.Role == policies.RoleFrontend {
			continue
		}
		g := int(s.GPUsPerReplica)
		if g == 0 && m != nil {
			g = m.GPUsPerEngine()
		}
		lo := max(int(s.MinReplicas), 1)
		d.Services = append(d.Services, Service{Name: s.Name, Role: s.Role, GPUsPerReplica: g,
			StartupTime: s.StartupTime, MinReplicas: lo, MaxReplicas: int(s.MaxReplicas), Initial: lo})
	}
	if err := d.Validate(); err != nil {
		return Deployment{}, fmt.Errorf("simulating policy %q: %w", p.Name, err)
	}
	return d, nil
}

// Cadence is when an Autoscaler is asked: every Interval, with observations over the trailing
// Window.
type Cadence struct {
	Interval time.Duration
	Window   time.Duration
	// KVOverWindow reads each service's KV-cache usage averaged over the Window's scrapes, as
	// tidal's default kvUsage query does (avg_over_time); false reads it as of the last scrape,
	// as an instant query does (an operator's HPA query).
	KVOverWindow bool
}

// Autoscaler decides replicas in simulated time. Scale gets the observations a Prometheus would
// show at now and returns the desired replicas per service name; services it leaves out keep
// their count. Implementations may keep state between calls; one value serves one run.
type Autoscaler interface {
	Cadence() Cadence
	Scale(now time.Time, obs planner.Observations) map[string]int32
}
