package sim

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/tidal-planner/tidal/planner/profile"
)

// Model is the engine-time model the simulated engines run on: the world's truth. It is built
// from a Dynamo profile (prefill read through planner/profile's curve, decode through the
// world's own surface of iteration time over batch size and context, see decodeSurface) and may
// run slower or faster than that profile (WithSpeeds), so the truth can differ from the profile
// the planners read. It is immutable and safe for concurrent use.
type Model struct {
	p          profile.Profile
	dec        decodeSurface
	islHi      float64
	marginalS  float64 // seconds per prefill token beyond the longest measured input
	engineGPUs int
	// prefillSpeed and decodeSpeed are the engines' speeds relative to the profile (1: as
	// profiled; 0.8: every pass takes 1/0.8 as long).
	prefillSpeed, decodeSpeed float64
}

// NewModel builds the engine model of a profile, running at the profile's speed.
func NewModel(p profile.Profile) *Model {
	_, hi := p.Prefill.ISLRange()
	g := max(p.Config.ThroughputGPUs, p.Prefill.EngineGPUs(), 1)
	return &Model{p: p, dec: newDecodeSurface(p.Decode), islHi: hi,
		marginalS: 1 / (p.Prefill.Throughput(hi) * float64(g)), engineGPUs: max(p.Config.GPUs, 1),
		prefillSpeed: 1, decodeSpeed: 1}
}

// WithSpeeds returns a copy of the model whose engines run at the given speeds relative to its
// profile, in prefill and in decode: 1 is as profiled, 0.8 is 20% slower (every prefill pass or
// decode iteration takes 1/0.8 as long), 1.2 is 20% faster. Speeds must be positive and finite.
func (m *Model) WithSpeeds(prefill, decode float64) (*Model, error) {
	var errs []error
	for _, s := range []struct {
		name string
		v    float64
	}{{"prefill", prefill}, {"decode", decode}} {
		if !(s.v > 0) || math.IsInf(s.v, 0) {
			errs = append(errs, fmt.Errorf("%s speed %v: want a positive number (1 = as profiled, 0.8 = 20%% slower)", s.name, s.v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c := *m
	c.prefillSpeed, c.decodeSpeed = prefill, decode
	return &c, nil
}

// Speeds returns the engines' prefill and decode speeds relative to the profile.
func (m *Model) Speeds() (prefill, decode float64) { return m.prefillSpeed, m.decodeSpeed }

// String describes the truth: the profile's source and any speed change.
func (m *Model) String() string {
	var parts []string
	if m.prefillSpeed != 1 {
		parts = append(parts, fmt.Sprintf("prefill x%g", m.prefillSpeed))
	}
	if m.decodeSpeed != 1 {
		parts = append(parts, fmt.Sprintf("decode x%g", m.decodeSpeed))
	}
	if len(parts) == 0 {
		return m.p.Source
	}
	return m.p.Source + " (" + strings.Join(parts, ", ") + " speed)"
}

// Profile returns the profile the model is built from (not the truth when the speeds differ
// from 1).
func (m *Model) Profile() profile.Profile { return m.p }

// PrefillSeconds is how long one prefill forward pass over tokens input tokens (one request or a
// batch) takes: the profile's lone-request TTFT curve read at the pass's total token count,
// linear between samples, the shortest sample's latency below it (the fixed per-pass cost) and
// the longest sample's marginal throughput above it, divided by the prefill speed. Reading a
// batch as one long prompt slightly overstates its attention cost, which keeps a saturated
// engine at the profile's throughput (see the calibration test) while still letting short
// requests share a pass.
func (m *Model) PrefillSeconds(tokens float64) float64 {
	s := m.p.Prefill.TTFT(tokens)
	if tokens > m.islHi {
		s = m.p.Prefill.TTFT(m.islHi) + (tokens-m.islHi)*m.marginalS
	}
	return s / m.prefillSpeed
}

// PrefillThroughput is the profile's prefill throughput per GPU (tokens/s/GPU) for requests of
// isl input tokens, as profiled (not scaled by the prefill speed).
func (m *Model) PrefillThroughput(isl float64) float64 { return m.p.Prefill.Throughput(isl) }

// IterationSeconds is the time of one decode iteration of a batch of batch sequences whose mean
// context length is ctx tokens: the inter-token latency every sequence of the batch sees (see
// decodeSurface), divided by the decode speed.
func (m *Model) IterationSeconds(batch, ctx float64) float64 {
	return m.dec.iteration(max(batch, 1), ctx) / m.decodeSpeed
}

// DecodeITL is the inter-token latency in seconds of a decode batch whose KV usage is kvUsage
// (0..1) and whose sequences hold ctx tokens of context on average: IterationSeconds at the batch
// size that usage means (kvUsage x capacity / ctx sequences, at least 1).
func (m *Model) DecodeITL(kvUsage, ctx float64) float64 {
	return m.IterationSeconds(kvUsage*m.MaxKVTokens()/max(ctx, 1), ctx)
}

// BestDecodeThroughput is the highest decode throughput per GPU (tokens/s/GPU) whose ITL stays
// within itl seconds for sequences of ctx tokens, and the KV usage where it is reached: the
// largest batch (at most what the KV cache holds and DefaultMaxBatch) whose iteration meets the
// target, each sequence producing one token per iteration. With no batch under the target it
// returns the lone sequence's throughput.
func (m *Model) BestDecodeThroughput(itl, ctx float64) (thpt, kvUsage float64) {
	ctx = max(ctx, 1)
	hi := math.Floor(min(m.MaxKVTokens()/ctx, DefaultMaxBatch))
	lo := 1.0
	if hi <= lo || m.IterationSeconds(lo, ctx) > itl {
		return m.decodeRate(lo, ctx), lo * ctx / m.MaxKVTokens()
	}
	if m.IterationSeconds(hi, ctx) > itl {
		for hi-lo > 1 { // iteration time is non-decreasing in the batch: bisect
			mid := math.Floor((lo + hi) / 2)
			if m.IterationSeconds(mid, ctx) <= itl {
				lo = mid
			} else {
				hi = mid
			}
		}
		hi = lo
	}
	return m.decodeRate(hi, ctx), hi * ctx / m.MaxKVTokens()
}

// decodeRate is the engine's decode tokens/s per GPU for a batch of n sequences of context ctx.
func (m *Model) decodeRate(n, ctx float64) float64 {
	return n / m.IterationSeconds(n, ctx) / float64(m.engineGPUs)
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
