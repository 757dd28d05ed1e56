package sim

import (
	"github.com/tidal-planner/tidal/planner/profile"
)

// Model is the engine-time model the simulated engines run on: a Dynamo profile (loaded and
// interpolated by planner/profile) read as a function of the work in one engine step. It is
// immutable and safe for concurrent use.
type Model struct {
	p          profile.Profile
	islHi      float64
	marginalS  float64 // seconds per prefill token beyond the longest measured input
	engineGPUs int
}

// NewModel builds the engine model of a profile.
func NewModel(p profile.Profile) *Model {
	_, hi := p.Prefill.ISLRange()
	g := max(p.Config.ThroughputGPUs, p.Prefill.EngineGPUs(), 1)
	return &Model{p: p, islHi: hi, marginalS: 1 / (p.Prefill.Throughput(hi) * float64(g)),
		engineGPUs: max(p.Config.GPUs, 1)}
}

// Profile returns the profile the model reads.
func (m *Model) Profile() profile.Profile { return m.p }

// PrefillSeconds is how long one prefill forward pass over tokens input tokens (one request or a
// batch) takes: the profile's lone-request TTFT curve read at the pass's total token count,
// linear between samples, the shortest sample's latency below it (the fixed per-pass cost) and
// the longest sample's marginal throughput above it. Reading a batch as one long prompt slightly
// overstates its attention cost, which keeps a saturated engine at the profile's throughput (see
// the calibration test) while still letting short requests share a pass.
func (m *Model) PrefillSeconds(tokens float64) float64 {
	if tokens > m.islHi {
		return m.p.Prefill.TTFT(m.islHi) + (tokens-m.islHi)*m.marginalS
	}
	return m.p.Prefill.TTFT(tokens)
}

// PrefillThroughput is the profile's prefill throughput per GPU (tokens/s/GPU) for requests of
// isl input tokens.
func (m *Model) PrefillThroughput(isl float64) float64 { return m.p.Prefill.Throughput(isl) }

// DecodeITL is the inter-token latency in seconds of a decode batch whose KV usage is kvUsage
// (0..1) and whose sequences hold ctx tokens of context on average (clamped to the profile).
func (m *Model) DecodeITL(kvUsage, ctx float64) float64 { return m.p.Decode.ITL(kvUsage, ctx) }

// BestDecodeThroughput is the highest decode throughput per GPU (tokens/s/GPU) whose ITL stays
// within itl seconds for sequences of ctx tokens, and the KV usage where it is reached. The
// throughput is the simulated engine's own: a batch filling kvUsage of the KV cache holds
// kvUsage x capacity / ctx sequences, each producing one token per DecodeITL. At the profile's
// measured points this equals the profile's z_thpt_per_gpu; between measured context lengths it
// stays consistent with the ITL the engines run at, where blending the throughput column would
// not. With no usage under the target it returns the lowest measured point.
func (m *Model) BestDecodeThroughput(itl, ctx float64) (thpt, kvUsage float64) {
	const steps = 100
	d := m.p.Decode
	lo := d.MinKVUsage(ctx)
	hi, ok := d.KVUsageAt(itl, ctx)
	if !ok {
		hi = lo
	}
	for i := 0; i <= steps; i++ {
		x := lo + (hi-lo)*float64(i)/steps
		if t := m.decodeRate(x, ctx); t > thpt {
			thpt, kvUsage = t, x
		}
	}
	return thpt, kvUsage
}

// decodeRate is the engine's decode tokens/s per GPU at a KV usage and context length.
func (m *Model) decodeRate(kv, ctx float64) float64 {
	batch := max(kv*m.MaxKVTokens()/max(ctx, 1), 1)
	return batch / m.DecodeITL(kv, ctx) / float64(m.engineGPUs)
}

// ProfileDecodeThroughput is the profile's own decode throughput per GPU at a KV usage and
// context length (its z_thpt_per_gpu column, interpolated): what Dynamo's planner reads.
func (m *Model) ProfileDecodeThroughput(kv, ctx float64) float64 {
	return m.p.Decode.Throughput(kv, ctx)
}

// MaxKVTokens is the KV-cache capacity of one decode engine, tokens.
func (m *Model) MaxKVTokens() float64 { return m.p.Decode.MaxKVTokens() }

// GPUsPerEngine is the number of GPUs the profiled engine used.
func (m *Model) GPUsPerEngine() int { return m.engineGPUs }
