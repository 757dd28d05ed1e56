package planner

import "time"

// Value is one observed number that may be missing. A missing value is never zero: Missing says
// why (empty result, NaN, stale series, query error, ...) and the planner holds rather than reading
// it as no load.
type Value struct {
	V       float64
	OK      bool
	Missing string
}

// Known returns a present value.
func Known(v float64) Value { return Value{V: v, OK: true} }

// Unknown returns a missing value with the reason it is missing.
func Unknown(reason string) Value { return Value{Missing: reason} }

// Observations is what the planner sees of one deployment at one instant, over one window.
// Latencies are in seconds, rates in per second, token counts per request.
type Observations struct {
	// Time is when the observations were taken; Window is the range of the windowed queries.
	Time   time.Time
	Window time.Duration

	RequestRate    Value // requests/s arriving at the frontend
	InputTokens    Value // mean input (prompt) tokens per request
	OutputTokens   Value // mean output tokens per request
	TTFT           Value // mean time to first token, s
	TTFTPercentile Value // the SLO's TTFT percentile, s
	ITL            Value // mean inter-token latency, s
	ITLPercentile  Value // the SLO's ITL percentile, s
	QueueDepth     Value // requests waiting for their first token (includes prefill)
	Inflight       Value // requests in flight
	KVUsage        Value // mean KV-cache usage over decode-capable workers, 0..1
	ArrivalCV      Value // coefficient of variation of inter-arrival times (1 = Poisson)

	// InputTokensPercentile is the TTFT SLO's percentile of input tokens per request (long
	// prompts drive the prefill tail); OutputTokensPercentile is the ITL SLO's percentile of
	// output tokens per request.
	InputTokensPercentile  Value
	OutputTokensPercentile Value

	// TTFTAttained is the fraction (0..1) of the window's requests whose time to first token was
	// within the SLO's TTFT target: the increase of the bucket of
	// dynamo_frontend_time_to_first_token_seconds at the target over the increase of its count
	// (DESIGN.md §1). Dynamo observes TTFT once per request, when its first token is sent, so this
	// is a per-request fraction; requests rejected or failed before a first token are not in it.
	// When the target falls between two bucket bounds the cumulative count is interpolated
	// linearly between them, as histogram_quantile interpolates within a bucket; at or above the
	// highest finite bound everything in the +Inf bucket counts as a miss. Missing when the window
	// saw no first token, the histogram has no series, or the window is not covered (the same
	// coverage and counter-reset rule as the other windowed signals).
	TTFTAttained Value
	// ITLAttained is the fraction (0..1) of the window's inter-token latency observations within
	// the SLO's ITL target, from dynamo_frontend_inter_token_latency_seconds the same way.
	// Dynamo observes that histogram once per output token after the first response chunk, each
	// at its chunk's gap divided by the chunk's tokens (lib/llm/src/http/service/metrics.rs,
	// ResponseMetricCollector.observe_response), so this is a per-token fraction: a response
	// weighs in proportion to its length, and a request whose mean ITL meets the target may still
	// contribute slow tokens (and one that misses it, fast ones). It equals the share of requests
	// meeting an ITL target only when gaps are alike within a request and lengths alike across
	// requests; read it as the token-weighted attainment. The simulator observes one gap per token
	// at the request's mean gap, so there it is the token-weighted share of requests whose mean
	// ITL met the target. Missing under the same conditions as TTFTAttained.
	ITLAttained Value

	// Services holds per-service state, in any order; the planner matches by Name.
	Services []ServiceObservation
}

// ServiceObservation is what is known of one DGD service: its replica counts (from the cluster)
// and its per-worker signals (from Prometheus, attributed by worker_type where it exists).
type ServiceObservation struct {
	Name string
	// Desired is the replica count currently requested (DGDSA spec.replicas); Ready counts the
	// replicas serving (DGD status readyReplicas). ReplicasKnown is false when the cluster could not
	// be read.
	Desired       int32
	Ready         int32
	ReplicasKnown bool
	// GPUsPerReplica as read from the DGD (multinode nodeCount x GPUs per node); 0 if unknown.
	GPUsPerReplica int32

	KVUsage      Value // mean KV-cache usage of this service's workers, 0..1
	ActiveTokens Value // prefill tokens (prefill) or decode KV blocks (decode) in flight per worker
}

// Service returns the observation for a service by name.
func (o Observations) Service(name string) (ServiceObservation, bool) {
	for _, s := range o.Services {
		if s.Name == name {
			return s, true
		}
	}
	return ServiceObservation{}, false
}
