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

	// TTFTAttained is the fraction of the window's requests whose TTFT met the SLO's TTFT target;
	// ITLAttained the fraction whose inter-token latency met the ITL target (from the histogram
	// buckets; missing without requests or data). The error budget reads them (errorbudget.go).
	TTFTAttained Value
	ITLAttained  Value

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
