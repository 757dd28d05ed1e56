package policies

// Topology is how the DGD splits the prefill and decode phases.
type Topology string

// Topologies a policy may declare.
const (
	TopologyAggregated    Topology = "aggregated"
	TopologyDisaggregated Topology = "disaggregated"
	TopologyHybrid        Topology = "hybrid"
)

// Role is what a service does in the deployment, which decides how it is sized.
type Role string

// Roles a service may have.
const (
	RolePrefill    Role = "prefill"
	RoleDecode     Role = "decode"
	RoleAggregated Role = "aggregated"
	RoleFrontend   Role = "frontend"
)

// Actuation is how a service's desired replica count reaches the cluster.
type Actuation string

// Actuations a service may use.
const (
	// ActuationScale writes the DGDSA scale subresource.
	ActuationScale Actuation = "scale"
	// ActuationKEDA serves the count to KEDA as an external scaler.
	ActuationKEDA Actuation = "keda"
	// ActuationNone observes and plans but applies nothing.
	ActuationNone Actuation = "none"
)

// Mode says whether decisions are applied.
type Mode string

// Modes a policy may run in.
const (
	ModeApply  Mode = "apply"
	ModeDryRun Mode = "dry-run"
)

// Signal names one observed quantity whose PromQL query a policy may override.
type Signal string

// Signals the metrics adapter reads. Units are given per signal.
const (
	SignalRequestRate    Signal = "requestRate"    // requests/s
	SignalInputTokens    Signal = "inputTokens"    // mean input tokens per request
	SignalOutputTokens   Signal = "outputTokens"   // mean output tokens per request
	SignalTTFT           Signal = "ttft"           // mean time to first token, seconds
	SignalTTFTPercentile Signal = "ttftPercentile" // the SLO's TTFT percentile, seconds
	SignalITL            Signal = "itl"            // mean inter-token latency, seconds
	SignalITLPercentile  Signal = "itlPercentile"  // the SLO's ITL percentile, seconds
	SignalQueueDepth     Signal = "queueDepth"     // requests waiting for their first token
	SignalInflight       Signal = "inflight"       // requests in flight
	SignalKVUsage        Signal = "kvUsage"        // KV-cache usage, 0..1
	SignalArrivalCV      Signal = "arrivalCV"      // coefficient of variation of inter-arrival times
	// SignalActiveTokens is per-service work in flight: prefill tokens per prefill worker, decode
	// KV blocks per decode or aggregated worker (attributed by worker_type).
	SignalActiveTokens Signal = "activeTokens"
	// SignalInputTokensPercentile is the TTFT SLO's percentile of input lengths, tokens.
	SignalInputTokensPercentile Signal = "inputTokensPercentile"
	// SignalOutputTokensPercentile is the ITL SLO's percentile of output lengths, tokens.
	SignalOutputTokensPercentile Signal = "outputTokensPercentile"
	// SignalTTFTAttained is the fraction of the window's requests whose TTFT met the SLO's TTFT
	// target, 0..1 (from the TTFT histogram's buckets).
	SignalTTFTAttained Signal = "ttftAttained"
	// SignalITLAttained is the fraction of the window's ITL observations (Dynamo observes one per
	// output token) within the SLO's ITL target, 0..1 (from the ITL histogram's buckets).
	SignalITLAttained Signal = "itlAttained"
)

// Signals lists every Signal in a stable order.
func Signals() []Signal {
	return []Signal{
		SignalRequestRate, SignalInputTokens, SignalOutputTokens, SignalTTFT, SignalTTFTPercentile,
		SignalITL, SignalITLPercentile, SignalQueueDepth, SignalInflight, SignalKVUsage, SignalArrivalCV,
		SignalActiveTokens, SignalInputTokensPercentile, SignalOutputTokensPercentile, SignalTTFTAttained,
		SignalITLAttained,
	}
}

// Topologies lists every Topology.
func Topologies() []Topology {
	return []Topology{TopologyAggregated, TopologyDisaggregated, TopologyHybrid}
}

// Roles lists every Role.
func Roles() []Role { return []Role{RolePrefill, RoleDecode, RoleAggregated, RoleFrontend} }

// Actuations lists every Actuation.
func Actuations() []Actuation { return []Actuation{ActuationScale, ActuationKEDA, ActuationNone} }

// Modes lists every Mode.
func Modes() []Mode { return []Mode{ModeApply, ModeDryRun} }

// Forecast methods a policy may name in spec.planning.forecast.method. The forecast package
// implements them; the names here are the contract between the policy file and that package.
const (
	ForecastAuto          = "auto"           // choose or blend by rolling-origin backtest error
	ForecastLast          = "last"           // last value (baseline)
	ForecastSeasonalNaive = "seasonal-naive" // value one season ago (baseline)
	ForecastLinear        = "linear"         // least-squares trend over a sliding window
	ForecastHoltWinters   = "holt-winters"   // damped trend with seasonality
	ForecastAR            = "ar"             // autoregressive model on the deseasonalised series
	ForecastKalman        = "kalman"         // local linear trend Kalman filter
)

// ForecastMethods lists every forecast method name a policy may use.
func ForecastMethods() []string {
	return []string{
		ForecastAuto, ForecastLast, ForecastSeasonalNaive, ForecastLinear, ForecastHoltWinters,
		ForecastAR, ForecastKalman,
	}
}
