package compete

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/policies"
)

// HPA constants, from Kubernetes' HorizontalPodAutoscaler controller defaults
// (kube-controller-manager --horizontal-pod-autoscaler-sync-period 15s, --horizontal-pod-autoscaler-
// tolerance 0.1; pkg/apis/autoscaling/v2/defaults.go: scale-up stabilisation 0 s with policies
// "100% or 4 pods per 15 s, whichever is more", scale-down stabilisation 300 s with "100% per 15 s").
const (
	HPASyncPeriod      = 15 * time.Second
	HPATolerance       = 0.1
	HPAScaleDownWindow = 300 * time.Second
	hpaScaleUpPods     = 4
	hpaScaleUpPercent  = 100
)

// HPAMetricWindow is the range of the rate an operator's Prometheus query takes
// (sum(rate(dynamo_frontend_input_sequence_tokens_sum[1m]))).
const HPAMetricWindow = time.Minute

// HPA is the Kubernetes HorizontalPodAutoscaler (through KEDA's Prometheus trigger, which exposes
// each query as an External metric with an AverageValue target) on the metrics an operator would
// pick for an LLM deployment:
//
//   - prefill (and aggregated) services: input tokens/s arriving at the frontend
//     (sum(rate(dynamo_frontend_input_sequence_tokens_sum[1m]))), target PrefillTokensPerReplica;
//   - decode (and aggregated) services: the sum of the serving workers' KV-cache usage
//     (sum(dynamo_component_gpu_cache_usage_percent), starting pods export nothing), target
//     KVUsagePerReplica.
//
// Every 15 s, per metric, it computes what pkg/controller/podautoscaler/replica_calculator.go
// (GetExternalPerPodMetricReplicas) does: ratio = sum / (target x current), where current is the
// scale subresource's status.replicas (the DGDSA mirrors spec there); within the 10% tolerance the
// proposal is current, else ceil(sum / target). A service with two metrics takes the larger
// proposal (horizontal.go computeReplicasForMetrics); a metric with no data is skipped, and all
// missing holds. Then the default behaviour (horizontal.go normalizeDesiredReplicasWithBehaviors):
// the scale-down stabilisation keeps the highest recommendation of the last 300 s, and a scale-up
// is limited to max(2 x current, current + 4) per 15 s period; the result is clamped to the
// service's bounds. Starting replicas count in current but report no metric, so the formula never
// compounds during a startup.
type HPA struct {
	Deployment              sim.Deployment
	PrefillTokensPerReplica float64
	KVUsagePerReplica       float64
	// Window is the range of its rate queries (0: HPAMetricWindow). An operator whose
	// Prometheus scrapes less often than every 15 s widens it as tidal does (hpaWindow).
	Window time.Duration

	history map[string][]recommendation
}

type recommendation struct {
	t time.Time
	n int32
}

// Cadence implements sim.Autoscaler: the HPA sync period, with one-minute rates (Window's).
func (h *HPA) Cadence() sim.Cadence {
	w := h.Window
	if w <= 0 {
		w = HPAMetricWindow
	}
	return sim.Cadence{Interval: HPASyncPeriod, Window: w}
}

// hpaWindow is the rate range an operator writes into the HPA's queries for a Setup's scrape
// interval: HPAMetricWindow, widened to policies.WindowScrapes scrapes (the rule of thumb tidal
// follows, and Grafana's $__rate_interval).
func hpaWindow(s Setup) time.Duration {
	return max(HPAMetricWindow, policies.WindowScrapes*scrapeOf(s))
}

// Scale implements sim.Autoscaler.
func (h *HPA) Scale(now time.Time, obs planner.Observations) map[string]int32 {
	if h.history == nil {
		h.history = map[string][]recommendation{}
	}
	out := map[string]int32{}
	for _, svc := range h.Deployment.Services {
		so, ok := obs.Service(svc.Name)
		if !ok || !so.ReplicasKnown {
			continue
		}
		cur := max(so.Desired, 1)
		if _, seen := h.history[svc.Name]; !seen {
			// A running HPA holds the current count among its recommendations.
			h.history[svc.Name] = []recommendation{{t: now, n: so.Desired}}
		}
		want, ok := h.propose(svc, so, obs, cur)
		if !ok {
			continue // no metric: hold
		}
		want = h.stabilise(now, svc.Name, want, cur)
		want = min(want, max(cur*(100+hpaScaleUpPercent)/100, cur+hpaScaleUpPods))
		out[svc.Name] = clampReplicas(float64(want), svc)
	}
	return out
}

// propose is the largest proposal of the service's metrics; false when none has data.
func (h *HPA) propose(svc sim.Service, so planner.ServiceObservation, obs planner.Observations, cur int32) (int32, bool) {
	best, any := int32(0), false
	if svc.Role != policies.RoleDecode && obs.RequestRate.OK && obs.InputTokens.OK {
		best, any = max(best, ExternalAverageValue(obs.RequestRate.V*obs.InputTokens.V, h.PrefillTokensPerReplica, cur)), true
	}
	if svc.Role != policies.RolePrefill && so.KVUsage.OK {
		best, any = max(best, ExternalAverageValue(so.KVUsage.V*float64(so.Ready), h.KVUsagePerReplica, cur)), true
	}
	return best, any
}

// ExternalAverageValue is the HPA's replica proposal for an External metric with an AverageValue
// target (replica_calculator.go GetExternalPerPodMetricReplicas): current within the tolerance,
// else ceil(sum / target).
func ExternalAverageValue(sum, target float64, current int32) int32 {
	ratio := sum / (target * float64(current))
	if math.Abs(1-ratio) <= HPATolerance {
		return current
	}
	return int32(math.Ceil(sum / target))
}

// stabilise records a recommendation and applies the stabilisation windows
// (horizontal.go stabilizeRecommendationWithBehaviors): a scale-up (window 0 s) takes the new
// recommendation; otherwise the count goes no lower than the highest recommendation of the last
// 300 s, and no higher than current.
func (h *HPA) stabilise(now time.Time, name string, n, cur int32) int32 {
	hist := append(h.history[name], recommendation{t: now, n: n})
	keep := hist[:0]
	best := n
	for _, x := range hist {
		if now.Sub(x.t) <= HPAScaleDownWindow {
			keep = append(keep, x)
			best = max(best, x.n)
		}
	}
	h.history[name] = keep
	if n >= cur {
		return n
	}
	return min(cur, best)
}
