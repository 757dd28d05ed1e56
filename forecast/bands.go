package forecast

import "math"

// bandQ is the quantile at which the two band variants are compared (the planner's usual
// provisioning quantile).
const bandQ = 0.9

// volAlpha is the smoothing weight of the volatility EWMA (an effective memory of ~1/volAlpha
// points).
const volAlpha = 1.0 / 12

// minErrors is how many h-step errors a band needs before it is trusted over the naive band.
const minErrors = 20

// bands keeps a predictor's own h-step errors and turns them into interval quantiles. Errors
// are log ratios ln((actual+eps)/(forecast+eps)) (eps the mean level: multiplicative at high
// load, close to additive near zero). Two variants are kept per horizon: fixed (the raw errors)
// and scaled (errors in units of the volatility when the forecast was made, an EWMA of squared
// one-step log changes, so the band breathes with it). Per horizon, the variant whose q0.9 upper
// offsets had the lower recent pinball loss is used; this is re-decided at every point.
//
// A ranking-only bands (the candidates inside auto) keeps just the recent fixed errors that
// auto ranks by: their intervals are never asked for, so it skips the order statistics, the
// volatilities and the variant losses.
type bands struct {
	h        int
	adaptive bool // false: fixed only (last-ratio is defined by raw ratios)
	rank     bool // ranking only

	fixed   errorStore
	pending []pending
	// *intervalBands holds what only intervals need; nil when ranking only, so the six
	// candidates inside every auto forecaster do not carry it (a quarter of a predictor).
	*intervalBands
}

// intervalBands is the part of bands that turns errors into intervals: the scaled variant,
// the variants' losses and the volatilities.
type intervalBands struct {
	scaled  errorStore
	loss    []ring      // [2k+variant] recent pinball losses of the q0.9 offset
	upRing  [][]float64 // [step%h][2k+variant] q0.9 offsets in force when forecasting
	volRing [][]float64 // [step%h][k] horizon-k volatility when forecasting

	vol2 []float64 // [k] EWMA of squared (k+1)-step log changes
	volN []int
	raw  []float64 // the newest h present values, raw[(n-1) % h] newest
	rawN int
}

// pending holds an error of a zero actual while its zero run may still turn out to be a gap.
type pending struct {
	k      int
	e, es  float64
	lf, ls float64
	scored bool
}

func newBands(o Options, adaptive, rank bool) bands {
	b := bands{h: o.MaxHorizon, adaptive: adaptive && !rank, rank: rank, fixed: newErrorStore(o, rank)}
	if rank {
		return b
	}
	b.intervalBands = &intervalBands{scaled: newErrorStore(o, false)}
	b.loss, b.upRing = make([]ring, 2*o.MaxHorizon), make([][]float64, o.MaxHorizon)
	b.volRing = make([][]float64, o.MaxHorizon)
	b.vol2, b.volN, b.raw = make([]float64, o.MaxHorizon), make([]int, o.MaxHorizon), make([]float64, o.MaxHorizon)
	for i := range b.volRing {
		b.volRing[i] = make([]float64, o.MaxHorizon)
	}
	for i := range b.loss {
		b.loss[i] = newRing(o.SelectWindow)
	}
	for i := range b.upRing {
		b.upRing[i] = make([]float64, 2*o.MaxHorizon)
	}
	return b
}

// record files the error e of a forecast made at slot idx for horizon index k. Errors of zero
// actuals wait in pending until commitPending or dropPending.
func (b *bands) record(k, idx int, e float64, zero bool) {
	if b.rank {
		b.keep(pending{k: k, e: e}, zero)
		return
	}
	vol := b.volRing[idx][k]
	p := pending{k: k, e: e, es: e / vol, scored: vol > 0 && b.volN[k] >= minErrors}
	p.lf = pinball(e, b.upRing[idx][2*k])
	p.ls = pinball(e, b.upRing[idx][2*k+1])
	b.keep(p, zero)
}

// keep commits p, or holds it in pending when its actual was a zero.
func (b *bands) keep(p pending, zero bool) {
	if zero {
		b.pending = append(b.pending, p)
		return
	}
	b.commit(p)
}

func (b *bands) commit(p pending) {
	b.fixed.add(p.k, p.e)
	if p.scored {
		b.scaled.add(p.k, p.es)
		b.loss[2*p.k].add(p.lf)
		b.loss[2*p.k+1].add(p.ls)
	}
}

func (b *bands) commitPending() {
	for _, p := range b.pending {
		b.commit(p)
	}
	b.pending = b.pending[:0]
}

func (b *bands) dropPending() { b.pending = b.pending[:0] }

// pinball is the q0.9 pinball loss of offset u for error e.
func pinball(e, u float64) float64 {
	if math.IsInf(e, 0) || math.IsNaN(u) {
		return 0
	}
	if e >= u {
		return bandQ * (e - u)
	}
	return (1 - bandQ) * (u - e)
}

// observe folds the 1..h-step log changes into v into the per-horizon volatilities.
func (b *bands) observe(v, eps float64) {
	if b.rank {
		return
	}
	for k := range min(b.h, b.rawN) {
		prev := b.raw[(b.rawN-1-k)%b.h]
		if d := logRatio(v, prev, math.Max(eps, 1e-12)); !math.IsNaN(d) && !math.IsInf(d, 0) {
			b.volN[k]++
			b.vol2[k] += (d*d - b.vol2[k]) * math.Max(volAlpha, 1/float64(b.volN[k]))
		}
	}
	b.raw[b.rawN%b.h] = v
	b.rawN++
}

func (b *bands) sigma(k int) float64 { return math.Max(math.Sqrt(b.vol2[k]), 1e-3) }

// snapshot records, for the forecasts just made at slot idx, the volatility and the q0.9
// offsets each variant would give.
func (b *bands) snapshot(idx int) {
	if b.rank {
		return
	}
	for k := range b.h {
		b.volRing[idx][k] = b.sigma(k)
		qf := b.fixed.quantile(k, bandQ)
		qs := b.scaled.quantile(k, bandQ)
		b.upRing[idx][2*k], b.upRing[idx][2*k+1] = qf, qs*b.sigma(k)
	}
}

// quantiles returns the lo and hi offsets of horizon index k from the better variant, and false
// while there are too few errors.
func (b *bands) quantiles(k int, lo, hi float64) (float64, float64, bool) {
	if b.adaptive && b.loss[2*k+1].len() >= minErrors && b.loss[2*k+1].meanAbs() < b.loss[2*k].meanAbs() {
		if qlo, qhi, n := b.scaled.quantiles(k, lo, hi); n >= minErrors {
			s := b.sigma(k)
			return qlo * s, qhi * s, true
		}
	}
	qlo, qhi, n := b.fixed.quantiles(k, lo, hi)
	return qlo, qhi, n >= minErrors
}

// variant names the band in use at horizon index k, for Status.
func (b *bands) variant(k int) string {
	if b.adaptive && b.loss[2*k+1].len() >= minErrors && b.loss[2*k+1].meanAbs() < b.loss[2*k].meanAbs() {
		return "volatility-scaled"
	}
	return "fixed"
}

func (b *bands) clone() bands {
	c := *b
	c.fixed = b.fixed.clone()
	c.pending = append([]pending(nil), b.pending...)
	if b.intervalBands != nil {
		c.intervalBands = b.intervalBands.clone()
	}
	return c
}

func (b *intervalBands) clone() *intervalBands {
	c := *b
	c.scaled = b.scaled.clone()
	c.loss = make([]ring, len(b.loss))
	for i := range b.loss {
		c.loss[i] = b.loss[i].clone()
	}
	c.upRing = make([][]float64, len(b.upRing))
	for i := range b.upRing {
		c.upRing[i] = append([]float64(nil), b.upRing[i]...)
	}
	c.volRing = make([][]float64, len(b.volRing))
	for i := range b.volRing {
		c.volRing[i] = append([]float64(nil), b.volRing[i]...)
	}
	c.vol2 = append([]float64(nil), b.vol2...)
	c.volN = append([]int(nil), b.volN...)
	c.raw = append([]float64(nil), b.raw...)
	return &c
}
