package model

import "math"

// Bounds on a batch context ratio (Profile.WithBatchContext). Below 1 the batch would hold
// shorter contexts than input + output / 2, which E[o^2] >= E[o]^2 rules out for independent
// lengths; a reading below it comes from sequences counted in flight that hold no KV yet (waiting
// for a decode slot) or from a KV window that lags the gauge, and crediting it would put more
// sequences in a KV usage than they fill. Above 4 (an output-only context whose length CV is
// above 1.7) the reading is more likely a KV usage that is not this deployment's than a length
// distribution.
const (
	MinContextRatio = 1.0
	MaxContextRatio = 4.0
)

// contextDecay is the weight a BatchContext keeps of its sums per new sample: about an hour's
// memory at a one-minute planning interval, as Reach.
const contextDecay = 1 - 1.0/60

// contextSamples is how many samples a BatchContext needs before its ratio departs from 1: one
// interval's gauges are instants of a batch that turns over in seconds.
const contextSamples = 8

// BatchContext measures the decode batch's mean context as a ratio to input + output / 2
// (Profile.WithBatchContext) from what the engines report: sum(KV tokens) / sum(sequences x
// (isl + osl / 2)) over decaying sums, so an interval with more sequences in flight weighs more
// and one noisy gauge reading moves it little. The zero value has seen nothing (Ratio 1).
type BatchContext struct {
	held, naive float64
	n           int
}

// Observe adds one reading: kvTokens, the KV tokens the decode batch held, over seqs sequences in
// decode, for mean lengths isl and osl. It reports whether the reading was used; one with no
// sequence, no output or a value that is not finite is ignored.
func (c *BatchContext) Observe(kvTokens, seqs, isl, osl float64) bool {
	if !(seqs > 0) || !(osl > 0) || !(isl >= 0) || !(kvTokens >= 0) ||
		math.IsInf(kvTokens, 0) || math.IsInf(seqs, 0) || math.IsInf(isl, 0) || math.IsInf(osl, 0) {
		return false
	}
	c.held = c.held*contextDecay + kvTokens
	c.naive = c.naive*contextDecay + seqs*(isl+osl/2)
	c.n++
	return true
}

// Ratio returns the measured ratio in [MinContextRatio, MaxContextRatio], 1 before
// contextSamples readings.
func (c BatchContext) Ratio() float64 {
	if c.n < contextSamples || !(c.naive > 0) {
		return 1
	}
	return min(max(c.held/c.naive, MinContextRatio), MaxContextRatio)
}

// Samples is how many readings were used.
func (c BatchContext) Samples() int { return c.n }
