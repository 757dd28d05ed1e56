package planner

import (
	"math"

	"github.com/tidal-planner/tidal/planner/model"
	"github.com/tidal-planner/tidal/policies"
)

// Model says what one replica can carry. model.Profile implements it from a Dynamo profile; the
// planner wraps its online Learned fits in another implementation when there is no profile.
type Model interface {
	// Prefill returns one replica's prefill service at a mean input length (tokens).
	Prefill(isl float64, gpus int32) (model.Prefill, bool)
	// Decode returns one replica's decode capacity at the ITL target (seconds).
	Decode(isl, osl, itlTarget float64, gpus int32) (model.Decode, bool)
}

// learnedModel answers from a service's online fits: capacity is the load per replica at which
// the fitted latency percentile reaches its target (queueing is inside the fit).
type learnedModel struct {
	ttft, itl  *model.Learned
	ttftTarget float64
}

// Prefill answers with the prefill token rate per replica at which the fitted TTFT percentile
// reaches the target.
func (l learnedModel) Prefill(isl float64, _ int32) (model.Prefill, bool) {
	x, ok := l.ttft.LoadAt(l.ttftTarget)
	return model.Prefill{TokensPerSecond: x}, ok && x > 0 && isl > 0
}

// Decode answers with the output token rate per replica at which the fitted ITL percentile
// reaches the target.
func (l learnedModel) Decode(_, _, itlTarget float64, _ int32) (model.Decode, bool) {
	x, ok := l.itl.LoadAt(itlTarget)
	return model.Decode{TokensPerSecond: x}, ok && x > 0
}

// need is the outcome of sizing one service.
type need struct {
	replicas int32   // replicas that meet the SLO at the load (limit+1 when above the search limit)
	raw      float64 // the raw need (fractional where the formula is)
	capacity float64 // per-replica capacity used (tokens/s, or requests/s for a frontend)
	feasible bool    // false when the latency target is unreachable at any count
	ok       bool    // false when the model could not answer
}

// sizing holds what sizing one service needs besides the load.
type sizing struct {
	role        policies.Role
	slo         policies.SLO
	gpus        int32
	variability float64 // (ca² + cs²)/2 for the prefill queue
	limit       int     // search limit (the service's maxReplicas)
	rpsPerRep   float64 // frontend capacity
	// utilisation is the fraction of capacity sizing plans to use (errorbudget.go: decode's
	// throughput at the ITL target; prefill's load-carrying capacity); 0 means 1.
	utilisation float64
}

// size returns the replicas a role needs at a load; m may be nil for a frontend.
func size(m Model, l Load, z sizing) need {
	if l.RequestRate <= 0 {
		return need{ok: true, feasible: true}
	}
	switch z.role {
	case policies.RoleFrontend:
		if z.rpsPerRep <= 0 {
			return need{}
		}
		raw := l.RequestRate / z.rpsPerRep
		return need{replicas: ceil32(raw), raw: raw, capacity: z.rpsPerRep, feasible: true, ok: true}
	case policies.RolePrefill:
		if u := z.utilisation; u > 0 && u < 1 {
			l.RequestRate, l.InputTokenRate = l.RequestRate/u, l.InputTokenRate/u
		}
		return sizePrefill(m, l, z, 0)
	case policies.RoleDecode:
		d, capacity, ok := decodeNeed(m, l, z)
		return need{replicas: ceil32(d), raw: d, capacity: capacity, feasible: true, ok: ok}
	default: // aggregated and hybrid workers carry both phases
		d, _, ok := decodeNeed(m, l, z)
		if !ok {
			return need{}
		}
		return sizePrefill(m, l, z, d)
	}
}

// decodeNeed is the fractional decode replica need: enough token throughput at the ITL target,
// used up to the utilisation the service's risk level allows (overload at the knee is
// all-or-nothing: every sequence of a saturated batch misses), and enough KV capacity for the concurrency Little's law implies (L = λ x OSL x ITL).
func decodeNeed(m Model, l Load, z sizing) (raw, capacity float64, ok bool) {
	itl := z.slo.ITL.Target.Seconds()
	dc, ok := m.Decode(l.InputTokens, l.OutputTokens, itl, z.gpus)
	if !ok || dc.TokensPerSecond <= 0 {
		return 0, 0, false
	}
	u := z.utilisation
	if !(u > 0) || u > 1 {
		u = 1
	}
	raw = l.OutputTokenRate / (dc.TokensPerSecond * u)
	if dc.MaxConcurrency > 0 {
		// Little's law: sequences in flight = output tokens/s x the ITL they see. At most the
		// operating point's ITL, which is below the target where the KV cache fills first.
		if dc.ITL > 0 {
			itl = min(itl, dc.ITL)
		}
		raw = max(raw, l.OutputTokenRate*itl/dc.MaxConcurrency)
	}
	return raw, dc.TokensPerSecond, true
}

// sizePrefill sizes prefill servers so the TTFT percentile, queueing included, meets the target.
// decodeShare is the fractional decode need of workers that also decode (0 for prefill workers):
// with N workers, decode takes decodeShare/N of each worker's time, stretching prefill service.
// That is a margin rather than the engine's mechanism (an engine without chunked prefill pauses
// decode for prefill); a faithful model lost attainment in bursts (docs/planner.md, Deferred).
func sizePrefill(m Model, l Load, z sizing, decodeShare float64) need {
	pc, ok := m.Prefill(l.InputTokens, z.gpus)
	if !ok || pc.TokensPerSecond <= 0 {
		return need{}
	}
	lambda := l.InputTokenRate / l.InputTokens // requests/s implied by the token forecast
	if pc.ServiceTime == 0 {                   // learned: capacity already includes queueing
		raw := max(l.InputTokenRate/pc.TokensPerSecond, decodeShare)
		return need{replicas: ceil32(raw), raw: raw, capacity: pc.TokensPerSecond, feasible: true, ok: true}
	}
	target, p := z.slo.TTFT.Target.Seconds(), z.slo.TTFT.Percentile/100
	if decodeShare == 0 {
		c, feasible := prefillServers(lambda, pc.ServiceTime, target, p, z.variability, z.limit)
		return need{replicas: int32(c), raw: lambda * pc.ServiceTime, capacity: pc.TokensPerSecond, feasible: feasible, ok: true}
	}
	for n := int(math.Floor(decodeShare)) + 1; n <= z.limit; n++ {
		s := pc.ServiceTime / (1 - decodeShare/float64(n))
		b := erlangBAt(n, lambda*s)
		if s+waitPercentile(b, n, lambda, s, p, z.variability) <= target {
			return need{replicas: int32(n), raw: decodeShare + lambda*pc.ServiceTime, capacity: pc.TokensPerSecond, feasible: true, ok: true}
		}
	}
	return need{replicas: int32(z.limit + 1), raw: decodeShare + lambda*pc.ServiceTime, capacity: pc.TokensPerSecond,
		feasible: pc.ServiceTime <= target, ok: true}
}

// ceil32 rounds a non-negative need up, saturating far above any replica count.
func ceil32(x float64) int32 {
	if !(x > 0) {
		return 0
	}
	return int32(min(math.Ceil(x-1e-9), 1<<30))
}
