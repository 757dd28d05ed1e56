package planner

import (
	"math"
	"slices"
	"time"
)

// The reserve: how much the load may grow over a service's lead time (now .. now + startup +
// interval), read from the empirical distribution of that growth in the deployment's own past.
//
// Every interval the planner records the observed load of each signal. Once a value is h intervals
// old it yields one growth sample G = max(L[t+1..t+h]) / L[t]: the largest load the replicas
// decided at t had to carry before a scale-up decided at t could serve, relative to the load they
// were sized from, less the part of the future peak that is the Poisson noise of counting a
// window's requests, which the prefill queue model already prices (countingNoise; decode's signal
// keeps it). The samples go into a histogram over log G whose weights decay with a half-life
// (reserveHalfLife of time), so the reserve follows what the traffic does now, not what a trace
// this code was tuned on did. A service sized at quantile q of G plans for L_now x G_q, and the
// fraction of intervals whose growth exceeds its reserve is about 1 - q: the risk level the error
// budget steers (errorbudget.go). docs/planner.md has the equations.
const (
	// reserveBins is the histogram's resolution over log G in [reserveMinLog, reserveMaxLog].
	reserveBins = 128
	// reserveMinLog and reserveMaxLog bound log G: the load may halve or grow eightfold over a lead
	// time; samples outside count in the end bins.
	reserveMinLog = -0.6931471805599453 // log 0.5
	reserveMaxLog = 2.0794415416798357  // log 8
	// reserveHalfLife is the age at which a growth sample weighs half: a day.
	reserveHalfLife = 24 * time.Hour
	// reserveMinHistory is the history below which the reserve is cold and the planner falls back
	// to the forecast's band: an hour, in samples at the planning interval (60 at the default).
	reserveMinHistory = time.Hour
	// reserveTailSamples is the evidence a quantile needs above it: q is capped at
	// 1 - reserveTailSamples / evidence, so a rare quantile is not read off a handful of events
	// (at q = 99% and a few hundred samples, one step's samples would be the reserve for a day).
	reserveTailSamples = 5
	// reserveNoiseMemory is how fast the running estimate of the readings' own noise
	// (growth.noise) follows a change: its streaming median moves by up to e^3 (20x) per
	// reserveNoiseMemory of samples.
	reserveNoiseMemory = time.Hour
	// reserveMaxLead bounds the lead time, in intervals, the growth is measured over.
	reserveMaxLead = 64
)

// growth tracks one load signal's growth over a lead time of lead intervals.
type growth struct {
	lead      int           // intervals
	interval  time.Duration // the planning interval minWeight and decay are for
	minWeight float64       // reserveMinHistory in samples
	decay     float64       // per-sample weight decay: 2^(-interval/reserveHalfLife)
	ring      []float64     // the last lead+1 observed values, NaN where missing
	next      int           // ring index of the next write
	seen      int           // values written, saturating at len(ring)
	hist      decayHist     // the peak growth over the lead, one sample per interval
	noiseStep float64       // the streaming median's relative step per sample
	noiseMed  float64       // running median of absolute successive log differences
	noiseMax  float64       // expectedMax(lead): the noise's expected peak over a lead, in sigmas
	window    float64       // the metrics window a reading's rate is taken over, in seconds
	prevLog   float64       // log of the last positive value (hasPrev)
	hasPrev   bool
	// points: the point growth L[t+j] / L[t] at every lag j of the lead, each lag weighing
	// 1/lead, decayed like hist (saturation.go reads it).
	points decayHist
}

// setLead (re)starts the tracker for a lead time at a planning interval; a change of lead clears
// the ring (not the histogram: the samples already taken stay valid evidence of growth).
func (g *growth) setLead(lead int, interval, window time.Duration) {
	g.window = window.Seconds()
	if interval <= 0 {
		interval = time.Minute
	}
	if interval != g.interval {
		g.interval = interval
		g.minWeight = max(float64(reserveMinHistory/interval), 1)
		g.decay = math.Exp2(-interval.Seconds() / reserveHalfLife.Seconds())
		g.noiseStep = min(0.1, 3*interval.Seconds()/reserveNoiseMemory.Seconds())
	}
	lead = min(max(lead, 1), reserveMaxLead)
	if g.lead == lead && g.ring != nil {
		return
	}
	g.lead, g.ring, g.next, g.seen = lead, make([]float64, lead+1), 0, 0
	g.noiseMax = expectedMax(lead)
}

// add records one interval's observed value and, once the ring is full, the growth sample of the
// value lead intervals old. rate is the observed request rate the value was read with (for a
// token rate as for the request rate itself): it says how many requests one reading counts.
func (g *growth) add(v, rate float64) {
	if math.IsInf(v, 0) || v < 0 {
		v = math.NaN()
	}
	poisson := 0.0 // this reading's Poisson counting noise, 1/sqrt(requests counted); 0 unknown
	if n := rate * g.window; n >= 1 && !math.IsInf(n, 0) {
		poisson = 1 / math.Sqrt(n)
	}
	g.noise(v)
	g.ring[g.next] = v
	g.next = (g.next + 1) % len(g.ring)
	g.seen = min(g.seen+1, len(g.ring))
	if g.seen < len(g.ring) {
		return
	}
	base := g.ring[g.next] // the oldest value: lead intervals old
	if math.IsNaN(base) || !(base > 0) {
		return
	}
	peak, seen := 0.0, false
	g.points.age(g.decay)
	lag := 1 / float64(g.lead) // one lag's weight
	for i := 1; i <= g.lead; i++ {
		if x := g.ring[(g.next+i)%len(g.ring)]; !math.IsNaN(x) {
			peak, seen = max(peak, x), true
			g.points.add(math.Log(max(x, 1e-12)/base), lag)
		}
	}
	if seen {
		g.sample(math.Log(max(peak, 1e-12)/base) - g.countingNoise(poisson)*g.noiseMax)
	}
}

// noise updates the running median of the absolute successive log differences of the observed
// load (v > 0 only), by a multiplicative step of noiseStep towards each new difference (a
// streaming median: it settles where half the differences lie above it). A median, not a mean
// square, so the differences a step in the load or a regular burst makes (fewer than half) are
// not read as noise.
func (g *growth) noise(v float64) {
	if !(v > 0) {
		return
	}
	lv := math.Log(v)
	if !g.hasPrev {
		g.prevLog, g.hasPrev = lv, true
		return
	}
	d := math.Abs(lv - g.prevLog)
	g.prevLog = lv
	switch {
	case g.noiseMed == 0:
		g.noiseMed = d
	case d > g.noiseMed:
		g.noiseMed *= 1 + g.noiseStep
	default:
		g.noiseMed /= 1 + g.noiseStep
	}
}

// countedRate is the request rate whose counting noise load signal k (request rate, input
// tokens, output tokens) may discount from its growth: the request rate's and prefill's token
// rate's, which the prefill queue model sizes as Poisson arrivals at least; not decode's output
// tokens, which are sized by throughput at the ITL target with no queue, so a minute's Poisson
// surplus is a fuller batch that every sequence's ITL pays for (0: no discount).
func countedRate(k signal, rate float64) float64 {
	if k == sigOutput {
		return 0
	}
	return rate
}

// countingNoise is the part of a reading's noise the queue model already prices: the Poisson
// noise of counting the window's requests (poisson; 0 while the count is unknown), at most what the
// readings show (readingNoise: the readings of overlapping windows, or of a smoothed series, vary
// less). Variation beyond Poisson (a burst, a load that moves minute to minute) is growth the
// reserve keeps.
func (g *growth) countingNoise(poisson float64) float64 { return min(g.readingNoise(), poisson) }

// readingNoise is the standard deviation of one reading's log noise, from the median absolute
// difference of two readings (for normal noise, 0.6745 x sqrt 2 times it).
func (g *growth) readingNoise() float64 { return g.noiseMed / (0.6744897501960817 * math.Sqrt2) }

// expectedMax is E[max of n independent standard normals], 0 for n < 2: the integral of
// x n phi(x) Phi(x)^(n-1) by the trapezoid rule over [-8, 8] at a step of 1/16 (the integrand is
// smooth and vanishes at both ends: a step of 1/128 agrees to 1e-13 for every lead up to 64, at
// 7x the cost), within 1e-4 of the tables of normal order statistics (e.g. Harter 1961: 0.5642
// for 2, 1.0294 for 4, 1.5388 for 10; TestExpectedMax). Computed once per lead time, not per
// sample.
func expectedMax(n int) float64 {
	if n < 2 {
		return 0
	}
	const lo, hi, step = -8.0, 8.0, 1.0 / 16
	sum := 0.0
	for x := lo; x <= hi; x += step {
		pdf := math.Exp(-x*x/2) / math.Sqrt(2*math.Pi)
		cdf := 0.5 * math.Erfc(-x/math.Sqrt2)
		sum += x * float64(n) * pdf * math.Pow(cdf, float64(n-1))
	}
	return sum * step
}

// sample adds one log-growth sample, decaying the older ones.
func (g *growth) sample(lg float64) {
	g.hist.age(g.decay)
	g.hist.add(lg, 1)
}

// decayHist is a histogram over log G whose weights decay by a constant factor per sample. It
// ages lazily: the stored weights are the true ones divided by scale, so a sample multiplies one
// number instead of every bin (Plan's hot path: two histograms per signal).
type decayHist struct {
	bins   *[reserveBins]float64 // stored weights per bin of log G; nil until the first age
	scale  float64               // a bin's true weight is its stored weight x scale
	weight float64               // the total true weight
}

// age decays every weight by one sample's factor, allocating the bins on first use.
func (h *decayHist) age(decay float64) {
	if h.bins == nil {
		h.bins, h.scale = new([reserveBins]float64), 1
	}
	h.scale = agedScale(h.bins, h.scale*decay)
	h.weight *= decay
}

// add adds weight w to the bin of log growth lg; age must have run once.
func (h *decayHist) add(lg, w float64) {
	h.bins[reserveBin(lg)] += w / h.scale
	h.weight += w
}

// quantile is histQuantile over the histogram.
func (h *decayHist) quantile(minWeight, q float64) (float64, bool) {
	return histQuantile(h.bins, h.scale, h.weight, minWeight, q)
}

// clone returns an independent copy.
func (h decayHist) clone() decayHist {
	if h.bins != nil {
		b := *h.bins
		h.bins = &b
	}
	return h
}

// minHistScale is the scale below which agedScale folds it into the stored weights: at the
// default interval's decay (2^(-1/1440) a sample) that is once in about 330 days of samples, and
// the stored weights (at most the evidence / minHistScale) stay far inside float64's range.
const minHistScale = 1e-100

// agedScale returns a histogram's scale after aging (decayHist): scale itself, or below
// minHistScale 1, with the scale folded into the stored weights.
func agedScale(bins *[reserveBins]float64, scale float64) float64 {
	if scale >= minHistScale {
		return scale
	}
	for i := range bins {
		bins[i] *= scale
	}
	return 1
}

// reserveBin is the histogram bin of a log growth, clamped to the end bins.
func reserveBin(lg float64) int {
	i := int((lg - reserveMinLog) / (reserveMaxLog - reserveMinLog) * reserveBins)
	return min(max(i, 0), reserveBins-1)
}

// quantile returns the growth factor G at quantile q (the upper edge of the bin where the
// cumulative weight reaches q), at least 1: a reserve never plans below the observed load. q is
// capped where fewer than reserveTailSamples samples would lie above it. ok is false while the
// evidence is below an hour of samples.
func (g *growth) quantile(q float64) (factor float64, ok bool) {
	return g.hist.quantile(g.minWeight, q)
}

// pointQuantile is quantile over the point growth at every lag of the lead time, where a sample
// of one interval counts for 1/lead of one that lasts the lead.
func (g *growth) pointQuantile(q float64) (factor float64, ok bool) {
	return g.points.quantile(g.minWeight, q)
}

// histQuantile is quantile over one of a tracker's histograms: bins, stored divided by scale,
// with total weight w.
func histQuantile(bins *[reserveBins]float64, scale, w, minWeight, q float64) (factor float64, ok bool) {
	if bins == nil || w < minWeight {
		return 1, false
	}
	q = min(q, 1-reserveTailSamples/w)
	want, cum := q*w/scale, 0.0 // in the stored weights' units
	for i, b := range bins {
		cum += b
		if cum >= want {
			edge := reserveMinLog + float64(i+1)*(reserveMaxLog-reserveMinLog)/reserveBins
			return max(math.Exp(edge), 1), true
		}
	}
	return math.Exp(reserveMaxLog), true
}

// evidence is the histogram's decayed sample count.
func (g *growth) evidence() float64 { return g.hist.weight }

// clone returns an independent copy.
func (g growth) clone() growth {
	g.ring = slices.Clone(g.ring)
	g.hist, g.points = g.hist.clone(), g.points.clone()
	return g
}
