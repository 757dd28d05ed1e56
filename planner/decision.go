package planner

import (
	"fmt"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

// Decision is what Plan decided for one deployment at one instant.
type Decision struct {
	Time time.Time
	// Services holds one entry per policy service, in policy order.
	Services []ServiceDecision
	// GPUs is the number of GPUs the desired replicas use (GPUs per replica x replicas, summed).
	GPUs int32
	// ShortfallGPUs is how many more GPUs the services needed than the budget allowed (0 when the
	// budget sufficed or is unbounded). A shortfall is also a budget reason on each cut service.
	ShortfallGPUs int32
}

// Service returns the decision for a service by name.
func (d Decision) Service(name string) (ServiceDecision, bool) {
	for _, s := range d.Services {
		if s.Name == name {
			return s, true
		}
	}
	return ServiceDecision{}, false
}

// ServiceDecision is the desired replica count of one service and why.
type ServiceDecision struct {
	Name string
	Role policies.Role
	// Current is the replica count requested before this decision (DGDSA spec.replicas; the last
	// decision when the cluster could not be read); Ready counts the replicas serving.
	Current int32
	Ready   int32
	// Desired is the decided replica count.
	Desired int32
	// Held is true when missing observations made the planner hold rather than size.
	Held bool
	// ReplicasKnown is true when Current was read from the cluster this tick (false: Current is
	// the last decision, remembered).
	ReplicasKnown bool
	// Actuation is how the service's replicas are applied (the policy's).
	Actuation policies.Actuation
	// Write is true when this decision is to be written to the cluster: actuation scale,
	// replicas read this tick, no other writer being backed off from, and Desired != Current.
	// It is the only thing the loop and the actuator go by.
	Write bool
	// GPUsPerReplica is what the budget counted for one replica.
	GPUsPerReplica int32
	// Load is the load the service was sized for.
	Load Load
	// Need is the raw replica need from sizing, before any guard, clamp or limit (fractional
	// where the formula is; 0 when sizing did not run).
	Need float64
	// Reasons lists, in pipeline order, what each step saw and changed.
	Reasons []Reason
	// Budget is the error-budget controller's state after this decision (errorbudget.go).
	Budget ErrorBudget
}

// ErrorBudget is one service's error-budget state after a decision: how loose its margins are,
// and how its misses compare with its share of the SLO's budget (docs/planner.md, "The error
// budget"). The zero value is a service the budget does not charge (a frontend) or one that did
// not reach the controller (no model, held).
type ErrorBudget struct {
	// Risk is the level e, from 0.01 (tightest) to 0.6 (loosest); 0.05 before any evidence.
	Risk float64
	// ReserveQuantile is the quantile of load growth the reserve plans at: 1 - e, at most 0.99
	// and at least 0.7 (past it the level loosens the queue term and decode's ceiling instead).
	ReserveQuantile float64
	// Share is the service's share of the miss budget, as a fraction of requests (0.01 for a
	// 99% objective that no other service spends).
	Share float64
	// Burn is the miss fraction over the last twenty minutes over Share: above 1 the service
	// burns its budget faster than the objective allows.
	Burn float64
	// Spent is the miss fraction over the objective window over Share: at 1 or above, the
	// window's budget is spent.
	Spent float64
	// Known is true when the controller ran for the service this interval.
	Known bool
	// Measured is true when the charged attainment was known this interval (false: the level was
	// frozen, and Burn and Spent are 0).
	Measured bool
}

// Load is the load a service was sized for: each rate is the maximum of the observed value and the
// forecast's upper bound over the lead time (at most 1.5x the recent observed peak while the
// forecaster is cold, 3x otherwise), times 1 + headroom; token counts are as observed.
type Load struct {
	RequestRate     float64 // requests/s
	InputTokenRate  float64 // prefill tokens/s
	OutputTokenRate float64 // decode (output) tokens/s
	InputTokens     float64 // mean input tokens per request (observed)
	OutputTokens    float64 // mean output tokens per request (observed)
}

// Step names a stage of the decision pipeline.
type Step string

// The pipeline's steps, in order.
const (
	StepObserve     Step = "observe"
	StepErrorBudget Step = "error-budget"
	StepForecast    Step = "forecast"
	StepSize        Step = "size"
	StepGuard       Step = "guard"
	StepSchedule    Step = "schedule"
	StepStabilise   Step = "stabilise"
	StepRateLimit   Step = "rate-limit"
	StepBudget      Step = "budget"
	StepClamp       Step = "clamp"
)

// Code says what a step found or did; Reason.Detail renders it with the reason's numbers.
type Code string

// Reason codes, grouped by step.
const (
	CodeReplicasUnknown   Code = "replicas-unknown"     // observe: cluster unread; Before = last decision
	CodeMissing           Code = "missing"              // observe: Note names the signal and why
	CodeGPUsUnknown       Code = "gpus-unknown"         // observe: never read; the budget step holds
	CodeArrivals          Code = "arrivals"             // observe: Value = arrivals estimate used, Limit = completion rate
	CodeConflictingWriter Code = "conflicting-writer"   // observe: Before = tidal's last write, After = read, Limit = back-off s
	CodeWriterBackoff     Code = "writer-backoff"       // stabilise: Value = seconds of quiet still needed
	CodeBudgetHold        Code = "budget-hold"          // budget: GPUs unknown; no scale-up (Limit = budget)
	CodeForecast          Code = "forecast"             // forecast: Value = load used, Limit = observed
	CodeForecastNone      Code = "forecast-none"        // forecast: no forecast; observed load used
	CodeForecastBounded   Code = "forecast-bounded"     // forecast: Value = upper bound, Limit = bound
	CodeRiskTightened     Code = "risk-tightened"       // error-budget: Value = recent burn rate, Limit = reserve quantile now
	CodeRiskLoosened      Code = "risk-loosened"        // error-budget: as risk-tightened
	CodeRiskHeld          Code = "risk-held"            // error-budget: window spent, recent within share
	CodeRiskFrozen        Code = "risk-frozen"          // error-budget: attainment unknown; Note = why
	CodeWaitScaled        Code = "wait-scaled"          // error-budget: Value = the prefill queue variability multiplier (prefill, aggregated), Limit = risk level
	CodeUtilisationRaised Code = "utilisation-raised"   // error-budget: Value = the utilisation ceiling (decode, aggregated), Limit = risk level
	CodeReserve           Code = "reserve"              // forecast: Value = growth factor planned, Limit = risk quantile; Note = forecaster
	CodeSized             Code = "sized"                // size: Value = raw need, Limit = capacity/replica
	CodeNoModel           Code = "no-model"             // size: no performance model yet; hold
	CodeInfeasible        Code = "slo-infeasible"       // size: target unreachable at any count
	CodeHold              Code = "hold"                 // size: missing data; keep the current count
	CodeTTFTBreach        Code = "ttft-breach"          // guard: Value = observed, Limit = target (s)
	CodeITLBreach         Code = "itl-breach"           // guard: Value = observed, Limit = target (s)
	CodeQueueBreach       Code = "queue-breach"         // guard: Value = queue wait (s), Limit = target
	CodeUnresponsive      Code = "latency-unresponsive" // guard: Value = latency now, Limit = before the last guard scale-up, or the fit's latency at the ask (s)
	CodeScheduleFloor     Code = "schedule-floor"       // schedule: Note = schedule name
	CodeSaturationFloor   Code = "saturation-floor"     // size: Value = saturation need at the floor's load, Limit = its growth quantile
	CodeScheduleCeiling   Code = "schedule-ceiling"     // schedule: Note = schedule name
	CodeStarting          Code = "waiting-for-ready"    // stabilise: Value = ready, Limit = timeout s
	CodeDrained           Code = "start-draining"       // stabilise: Value = ready, Limit = metrics window s
	CodeStartupTimeout    Code = "startup-timeout"      // stabilise: stopped waiting for a scale-up
	CodeWindow            Code = "scale-down-window"    // stabilise: Value = highest need in window
	CodeSLOBlocksDown     Code = "n-1-would-breach"     // stabilise: Value = need at observed load
	CodeBurnedHere        Code = "burned-here"          // stabilise: Value = load the count burned at, Limit = load now
	CodeTolerance         Code = "within-tolerance"     // stabilise: Value = need at planned load x (1 + tolerance), Limit = tolerance
	CodeObjectiveBlocks   Code = "n-1-misses-objective" // stabilise: Value = need at observed load / (1 + tolerance) at the objective's percentile, Limit = objective
	CodeCooldown          Code = "cooldown"             // stabilise: Value = seconds left
	CodeMaxStepUp         Code = "max-step-up"          // rate-limit
	CodeMaxStepDown       Code = "max-step-down"        // rate-limit
	CodeBudgetCut         Code = "budget-cut"           // budget: Value = GPUs wanted, Limit = budget
	CodeMin               Code = "min-replicas"         // clamp
	CodeMax               Code = "max-replicas"         // clamp
	CodeNeedAboveMax      Code = "need-above-max"       // size: raw need exceeds maxReplicas
	CodeCalibrated        Code = "calibrated"           // size: Value = TTFT factor, Limit = ITL factor
	CodeITLPastSeen       Code = "itl-past-seen"        // size: Value = KV usage the ITL factor was seen up to, Limit = KV usage the factor alone would plan at
	CodeITLReach          Code = "itl-beyond-reach"     // size: Value = KV usage the ITL factor was seen up to, Limit = KV usage the factor alone would plan at
	CodeDecodeContext     Code = "decode-context"       // size: Value = decode batch's mean context measured (tokens), Limit = input + output / 2
	CodeLearnedModel      Code = "learned-model"        // size: the online model was used
	CodeNoTraffic         Code = "no-traffic"           // size: zero load; the floor applies
)

// Reason is one structured entry of a decision's explanation. It holds numbers, not text, so
// building it never allocates; Detail renders it. Before and After are replica counts around the
// step; Value and Limit are the step's key quantities (see each Code); Note is a name (a signal,
// a schedule, a model source) taken from the inputs.
type Reason struct {
	Step   Step
	Code   Code
	Before int32
	After  int32
	Value  float64
	Limit  float64
	Note   string
}

// Changed reports whether the step changed the replica count.
func (r Reason) Changed() bool { return r.Before != r.After }

// Detail renders the reason as one human-readable line.
func (r Reason) Detail() string {
	return fmt.Sprintf("%s/%s: %d -> %d%s", r.Step, r.Code, r.Before, r.After, r.numbers())
}

// String is Detail.
func (r Reason) String() string { return r.Detail() }

func (r Reason) numbers() string {
	s := ""
	if r.Value != 0 || r.Limit != 0 {
		s = fmt.Sprintf(" (value %.4g, limit %.4g)", r.Value, r.Limit)
	}
	if r.Note != "" {
		s += " " + r.Note
	}
	return s
}
