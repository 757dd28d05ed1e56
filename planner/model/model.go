package model

import (
	"math"

	"github.com/tidal-planner/tidal/planner/profile"
)

// Prefill is what one replica does in the prefill phase at one input length.
type Prefill struct {
	// ServiceTime is the time one lone request's prefill takes on the replica, in seconds: the
	// zero-load TTFT. 0 means the model only knows a capacity (learned models), which already
	// includes queueing.
	ServiceTime float64
	// TokensPerSecond is the prefill tokens/s one replica serves: at full utilisation when
	// ServiceTime is set, at the TTFT target when it is not.
	TokensPerSecond float64
}

// Decode is what one replica does in the decode phase at the ITL target.
type Decode struct {
	// TokensPerSecond is the output tokens/s one replica generates while ITL meets the target.
	TokensPerSecond float64
	// MaxConcurrency is how many sequences fit in one replica's KV cache at that operating point
	// (0 when unknown).
	MaxConcurrency float64
	// KVUsage is the operating point's KV-cache usage, 0..1 (0 when unknown).
	KVUsage float64
	// ITL is the calibrated inter-token latency at the operating point, in seconds: the target
	// where the target sets the KV usage, less where the measured KV range ends first (0 when
	// unknown). A full batch of MaxConcurrency sequences yields MaxConcurrency / ITL tokens/s.
	ITL float64
}

// Profile answers capacity questions from a Dynamo profile, optionally calibrated. The zero
// calibration factors mean 1 (no correction).
type Profile struct {
	p profile.Profile
	// ttftScale and itlScale multiply the profile's latencies (observed / predicted).
	ttftScale, itlScale float64
	// shared marks a worker that prefills as well as decodes (SharedEngine).
	shared bool
	// itlReach is the highest KV usage the ITL factor was observed at (WithITLReach); reachSet
	// says it applies.
	itlReach float64
	reachSet bool
	// itlSeen is the KV usage the ITL factor was observed up to (WithITLSeen), the anchor of the
	// affine bound past it; 0 means none.
	itlSeen float64
	// ctxRatio is the decode batch's mean context over isl + osl/2 (WithBatchContext); 0 means 1.
	ctxRatio float64
}

// FromProfile wraps a loaded profile.
func FromProfile(p profile.Profile) Profile { return Profile{p: p, ttftScale: 1, itlScale: 1} }

// Calibrated returns a copy whose latencies are the profile's times the given factors (observed /
// predicted); factors are clamped to [MinScale, MaxScale], and non-positive ones mean 1.
func (m Profile) Calibrated(ttftScale, itlScale float64) Profile {
	m.ttftScale, m.itlScale = clampScale(ttftScale), clampScale(itlScale)
	return m
}

// WithITLReach returns a copy that credits an ITL factor below 1 (an engine faster than profiled)
// only up to KV usage kv, the highest at which the factor was observed (Reach); the planner asks
// for it once a burn has refuted the factor's extrapolation (docs/planner.md). Past it the
// evidence is absent, and the decode capacity is the profile's own, or the calibrated one at kv
// where that is higher. A factor above 1 applies everywhere: pessimism needs no evidence.
//
// A factor read at one KV usage need not hold at another: where the profile's decode curve
// differs in shape from the engine's (the profile blends its two context rows around a mean
// context at equal KV usage; an engine's iteration time follows its batch), the ratio moves with
// the load. On the ServeGen m-large day at full rate (Azure code token lengths, context about
// 2,000 tokens, between the embedded profile's rows at 350 and 2,997) decode read 0.69-0.83 at
// two replicas. Near its ITL target the profile's curve is flat, so a factor of 0.72 moved the
// planned KV usage from 0.30 to 0.62 and doubled the sequences one replica was credited with: the
// service scaled down to one replica at a planned 73% of capacity and its ITL reached 38 ms
// against a 25 ms target, seven times in the day (docs/planner.md).
func (m Profile) WithITLReach(kv float64) Profile {
	m.itlReach, m.reachSet = kv, true
	return m
}

// WithITLSeen returns a copy that bounds an ITL factor below 1 past KV usage kv, the highest at
// which the factor was observed (Reach), by an affine continuation: past kv the calibrated ITL
// grows at least along the straight line from the profile's lone-sequence ITL through the
// calibrated ITL at kv (ITL affine in the batch: the form of Dynamo's decode regression,
// components/src/dynamo/planner/core/perf_model/decode.py). A factor below 1 then credits the
// faster engine past what was seen only where the profile's own curve is no flatter than that
// line. Unlike WithITLReach it needs no burn: an engine whose iteration time is affine in its
// batch, as a decode engine's is while bandwidth bound, is not refuted by it.
//
// Why: a profile's curve can be flatter than the engine's where the profile interpolates. The
// embedded profile blends its context rows at equal KV usage, so at a 1,560-token context its ITL
// bends from 30 ms at usage 0.3 to 37 ms at 0.6, while an engine whose iteration time is affine
// in its batch reads 0.65 of it up to 0.3 and reaches the 25 ms target at about 0.41. The factor
// alone then plans at 0.68 and credits one replica with 1.6x the output tokens it carries at the
// target (docs/planner.md, "An engine faster than profiled").
func (m Profile) WithITLSeen(kv float64) Profile {
	m.itlSeen = kv
	return m
}

// WithBatchContext returns a copy whose decode batch holds sequences of mean context
// r x (isl + osl/2) rather than isl + osl/2 (r <= 0 or not finite means 1). A batch holds each
// sequence for as long as it decodes, so a long output is in it longer than a short one. A
// request of output o spends o iterations in the batch at contexts isl, isl + 1, ..., so averaged
// over the batch's sequence-iterations the context is isl + E[o^2] / (2 E[o]) (with input and
// output lengths independent; when they are not, the inputs of long outputs weigh more too). On
// testdata/sim/reasoning-tokens.csv that is 2,020 tokens where input + output / 2 is 1,658, a
// ratio of 1.22. The planner measures the ratio from the KV the batch holds and the sequences in
// flight (BatchContext).
func (m Profile) WithBatchContext(r float64) Profile {
	m.ctxRatio = r
	return m
}

// Context is the decode batch's mean context length for mean lengths isl and osl: r x (isl +
// osl/2), with r the ratio measured (WithBatchContext; 1 by default).
func (m Profile) Context(isl, osl float64) float64 {
	r := m.ctxRatio
	if !(r > 0) || math.IsInf(r, 0) {
		r = 1
	}
	return r * (isl + osl/2)
}

// affineKV is the KV usage at which the affine continuation past itlSeen (WithITLSeen) reaches
// itlTarget at context ctx, and whether it applies: a factor below 1, a seen usage above the
// profile's lowest, and a profile rising between them.
func (m Profile) affineKV(itlTarget, ctx float64) (float64, bool) {
	u0 := m.p.Decode.MinKVUsage(ctx)
	r := min(m.itlSeen, m.p.Decode.MaxKVUsage(ctx))
	if !(m.itlScale < 1) || !(r > u0) {
		return 0, false
	}
	a, pr := m.p.Decode.ITL(u0, ctx), m.p.Decode.ITL(r, ctx)
	if !(pr > a) || !(itlTarget/m.itlScale >= pr) {
		return 0, false
	}
	u := u0 + (r-u0)*(itlTarget/m.itlScale-a)/(pr-a)
	return min(u, m.p.Decode.MaxKVUsage(ctx)), true
}

// factorKV is the decode batch's mean context for lengths isl and osl (Context), and the KV usage
// at which the calibrated ITL (the factor alone) meets itlTarget there; false for lengths or a
// target Decode cannot size, or a target no measured usage meets.
func (m Profile) factorKV(isl, osl, itlTarget float64) (ctx, kv float64, ok bool) {
	if !(isl >= 0) || !(osl > 0) || !(itlTarget > 0) {
		return 0, 0, false
	}
	ctx = m.Context(isl, osl)
	kv, ok = m.p.Decode.KVUsageAt(itlTarget/m.itlScale, ctx)
	return ctx, kv, ok
}

// ITLReachLimits reports whether the reach (WithITLReach) keeps Decode, for the same lengths and
// target, below the KV usage the calibrated factor alone would plan at: the reach and that KV
// usage, for the decision's reasons.
func (m Profile) ITLReachLimits(isl, osl, itlTarget float64) (reach, calibrated float64, limited bool) {
	if !m.reachSet || !(m.itlScale < 1) {
		return 0, 0, false
	}
	_, kv, ok := m.factorKV(isl, osl, itlTarget)
	return m.itlReach, kv, ok && kv > m.itlReach
}

// ITLPastSeen reports whether the line past the seen KV usage (WithITLSeen) keeps Decode, for the
// same lengths and target, below the KV usage the calibrated factor alone would plan at: the seen
// usage and that KV usage, for the decision's reasons.
func (m Profile) ITLPastSeen(isl, osl, itlTarget float64) (seen, alone float64, limited bool) {
	ctx, kv, ok := m.factorKV(isl, osl, itlTarget)
	if !ok {
		return 0, 0, false
	}
	ka, affine := m.affineKV(itlTarget, ctx)
	return m.itlSeen, kv, affine && ka < kv
}

// SharedEngine returns a copy for a worker that prefills as well as decodes (aggregated, hybrid).
// Its observed ITL also counts the pauses prefill makes in decoding, so the ITL factor measures
// those as well as the engine's speed. Decode throughput then stays the profile's at the
// calibrated operating point: sizing counts prefill's time separately (the decode share of each
// worker), and dividing by the factor would count the pauses twice.
func (m Profile) SharedEngine() Profile {
	m.shared = true
	return m
}

// Scales returns the calibration factors in use (TTFT, ITL).
func (m Profile) Scales() (ttft, itl float64) { return m.ttftScale, m.itlScale }

// Source names the profile.
func (m Profile) Source() string { return m.p.Source }

// replicaScale is how many profiled engines one replica with gpus GPUs amounts to (1 when gpus is
// unknown).
func (m Profile) replicaScale(gpus int32) float64 {
	if gpus <= 0 || m.p.Config.GPUs <= 0 {
		return 1
	}
	return float64(gpus) / float64(m.p.Config.GPUs)
}

// Prefill returns the prefill service of one replica at a mean input length (tokens). The
// replica is modelled as one server: ServiceTime = TTFT(isl) x calibration / engines per replica.
func (m Profile) Prefill(isl float64, gpus int32) (Prefill, bool) {
	if !(isl > 0) {
		return Prefill{}, false
	}
	s := m.p.Prefill.TTFT(isl) * m.ttftScale / m.replicaScale(gpus)
	return Prefill{ServiceTime: s, TokensPerSecond: isl / s}, true
}

// PrefillPeak is one replica's prefill throughput, in tokens/s, at its best batch: an engine
// that batches waiting prompts up to budget tokens per step prefills a batch of x tokens in the
// profile's TTFT(x) (the simulated engines do the same, docs/simulate.md), so under a backlog of
// prompts of isl tokens it serves at most max over x in [isl, max(isl, budget)] of x / TTFT(x),
// read at 33 evenly spaced batch sizes no larger than the profile's longest measured input (or
// isl); calibrated by the TTFT factor. 0 when isl is not positive.
// Where the profile's curve is convex in its tokens (short prompts on a small model), this is
// well above the lone request's isl / TTFT(isl): the Llama-3.1-8B H200 profile serves 27,500
// tokens/s one 1,000-token prompt at a time and 50,200 at 6,000 tokens a step.
func (m Profile) PrefillPeak(isl, budget float64, gpus int32) float64 {
	if !(isl > 0) {
		return 0
	}
	hi := max(budget, isl)
	if _, top := m.p.Prefill.ISLRange(); hi > top {
		hi = max(top, isl) // past the curve TTFT is clamped: more tokens would read as free
	}
	best := 0.0
	for i := range prefillPeakSteps + 1 {
		x := isl + (hi-isl)*float64(i)/prefillPeakSteps
		if t := m.p.Prefill.TTFT(x); t > 0 {
			best = max(best, x/t)
		}
	}
	return best * m.replicaScale(gpus) / m.ttftScale
}

// prefillPeakSteps is how many intervals PrefillPeak divides its batch range into.
const prefillPeakSteps = 32

// KVTokens is the KV-cache capacity, in tokens, of one replica with gpus GPUs (the profiled
// engine's, scaled by the engines per replica).
func (m Profile) KVTokens(gpus int32) float64 {
	return m.p.Decode.MaxKVTokens() * m.replicaScale(gpus)
}

// PredictITL returns the profile's ITL (seconds, calibrated) at a KV usage and mean context length.
func (m Profile) PredictITL(kvUsage, ctx float64) float64 {
	return m.p.Decode.ITL(kvUsage, ctx) * m.itlScale
}

// Decode returns one replica's decode capacity at the ITL target (seconds) for mean input and
// output lengths: the largest measured KV usage whose calibrated ITL meets the target at the
// batch's mean context (Context: isl + osl/2 unless a ratio was measured, WithBatchContext), the
// throughput there, and the sequences that KV usage holds. It reports false when the target
// cannot be met at any measured usage.
//
// The throughput is calibrated with the ITL: a KV usage holds the same batch whatever the engine's
// speed, and a batch of B sequences yields B tokens per ITL, so an engine whose ITL is the
// profile's x s yields the profile's tokens/s / s at that usage (but see SharedEngine). The
// sequences that usage holds are the cache's, whatever the speed: only the GPUs scale them.
func (m Profile) Decode(isl, osl, itlTarget float64, gpus int32) (Decode, bool) {
	ctx, kv, ok := m.factorKV(isl, osl, itlTarget)
	if !ok {
		return Decode{}, false
	}
	speed := 1.0
	if !m.shared {
		speed = 1 / m.itlScale
	}
	ka, affine := m.affineKV(itlTarget, ctx)
	if affine = affine && ka < kv; affine {
		kv = ka
	}
	itlScale := m.itlScale // the factor the operating point's ITL is credited with
	if m.reachSet && m.itlScale < 1 && kv > m.itlReach {
		kv, speed = m.withinReach(itlTarget, ctx, speed)
		affine = false
		if speed == 1 && !m.shared {
			itlScale = 1 // the profile's own operating point, at its own speed
		}
	}
	seqs := kv * m.p.Decode.MaxKVTokens() / ctx
	engineTokens := m.p.Decode.Throughput(kv, ctx) * float64(max(m.p.Config.ThroughputGPUs, 1)) * speed
	if affine && !m.shared {
		// On the line the ITL at kv is the target, and a batch of B sequences yields B tokens
		// per ITL. The profile's throughput column, blended between context rows at equal KV
		// usage like its ITL, can credit more: at a 1,560-token context it reads 12,600
		// tokens/s at usage 0.3, where the batch that usage holds at its ITL yields 6,000.
		engineTokens = min(engineTokens, seqs/itlTarget)
	}
	engines := m.replicaScale(gpus)
	itl := itlTarget // on the line the ITL at kv is the target
	if !affine {
		itl = min(itlTarget, m.p.Decode.ITL(kv, ctx)*itlScale)
	}
	return Decode{
		TokensPerSecond: engineTokens * engines,
		MaxConcurrency:  seqs * engines,
		KVUsage:         kv,
		ITL:             itl,
	}, true
}

// withinReach credits the faster engine only as far as it was seen (WithITLReach): the
// calibrated curve up to the reach at the calibrated speed, or the profile's own operating point
// at its own speed where that plans the higher KV usage. It returns the KV usage and the speed.
func (m Profile) withinReach(itlTarget, ctx, speed float64) (float64, float64) {
	kv := max(m.itlReach, m.p.Decode.MinKVUsage(ctx))
	if kv0, ok := m.p.Decode.KVUsageAt(itlTarget, ctx); ok && kv0 >= kv {
		return kv0, 1
	}
	return kv, speed
}
