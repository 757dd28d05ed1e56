package forecast

import (
	"math"
	"slices"
)

// ring is a fixed-capacity ring of float64 with a running sum of absolute values. Its buffer
// grows as values arrive, up to the capacity, so a cold forecaster's many windows cost little
// (pre-allocating them touched a page of each, most of a cold forecaster's resident memory).
//
// A mean-only ring (newMeanRing) keeps no values: its mean absolute value is an exponentially
// weighted one with a memory of size values (a plain mean until size values have arrived), and its
// len counts values up to size. It serves where only meanAbs and len are read (auto's ranking in a
// compact forecaster), at a few words instead of size values.
//
// It is 48 bytes (32-bit size and position): every predictor keeps one per horizon for auto's
// ranking, 10,500 predictors in 500 warm auto forecasters.
type ring struct {
	buf      []float64 // the values; len(buf) grows to size, then the ring wraps
	absSum   float64
	size     int32
	next     int32
	full     bool
	meanOnly bool // keep no values: absSum is the weighted mean, next the count (<= size)
}

func newRing(capacity int) ring { return ring{size: int32(min(max(capacity, 1), math.MaxInt32))} }

// newMeanRing returns a mean-only ring with a memory of capacity values.
func newMeanRing(capacity int) ring {
	r := newRing(capacity)
	r.meanOnly = true
	return r
}

// add appends v and returns the value it evicted (ok false when none was; a mean-only ring
// never reports one).
func (r *ring) add(v float64) (evicted float64, ok bool) {
	if r.meanOnly {
		r.next = min(r.next+1, r.size)
		r.absSum += (math.Abs(v) - r.absSum) / float64(r.next)
		return 0, false
	}
	if r.full {
		evicted, ok = r.buf[r.next], true
		r.absSum -= math.Abs(evicted)
		r.buf[r.next] = v
	} else {
		r.grow()
		r.buf = append(r.buf, v)
	}
	r.absSum += math.Abs(v)
	r.next++
	if r.next == r.size {
		r.next, r.full = 0, true
		r.resum()
	}
	return evicted, ok
}

// grow makes room for one more value before the ring is full: by a quarter (at least 64), at
// most to size.
func (r *ring) grow() {
	if len(r.buf) < cap(r.buf) {
		return
	}
	n := len(r.buf)
	buf := make([]float64, n, min(max(n+n/4, 64), int(r.size)))
	copy(buf, r.buf)
	r.buf = buf
}

// resum recomputes the running sum once per lap so rounding never accumulates.
func (r *ring) resum() {
	s := 0.0
	for _, v := range r.buf {
		s += math.Abs(v)
	}
	r.absSum = s
}

func (r *ring) len() int {
	if r.meanOnly {
		return int(r.next)
	}
	return len(r.buf)
}

// meanAbs is the mean absolute value held (NaN when empty).
func (r *ring) meanAbs() float64 {
	switch {
	case r.len() == 0:
		return math.NaN()
	case r.meanOnly:
		return r.absSum
	}
	return r.absSum / float64(r.len())
}

func (r *ring) values() []float64 { return r.buf }

func (r *ring) clone() ring {
	c := *r
	c.buf = slices.Clone(r.buf)
	return c
}

// errorStore keeps, per horizon, the recent log-ratio errors ln((a+eps)/(p+eps)) of the forecasts
// a predictor emitted: either the last ErrorWindow of them with their order statistics (for
// intervals), or only the last SelectWindow with their running mean absolute value (for auto's
// ranking of its candidates, whose own intervals are never asked for).
type errorStore struct {
	wide   []ring         // ErrorWindow per horizon; nil when ranking only
	sorted []sortedBlocks // the values of wide, in order
	recent []ring         // SelectWindow per horizon; nil when kept for intervals
}

// newErrorStore returns a store for intervals, or for ranking only when rank is true.
func newErrorStore(o Options, rank bool) errorStore {
	var e errorStore
	if rank {
		e.recent = make([]ring, o.MaxHorizon)
		for i := range e.recent {
			if o.compact {
				e.recent[i] = newMeanRing(o.SelectWindow)
			} else {
				e.recent[i] = newRing(o.SelectWindow)
			}
		}
		return e
	}
	e.wide, e.sorted = make([]ring, o.MaxHorizon), make([]sortedBlocks, o.MaxHorizon)
	for i := range e.wide {
		e.wide[i] = newRing(o.ErrorWindow)
	}
	return e
}

func (e *errorStore) add(h int, v float64) {
	if e.recent != nil {
		e.recent[h].add(v)
	}
	if e.wide == nil {
		return
	}
	if old, evicted := e.wide[h].add(v); evicted {
		e.sorted[h].remove(old)
	}
	e.sorted[h].insert(v)
}

// quantiles returns the lo and hi empirical quantiles of horizon h's errors and how many errors
// they come from (none in a ranking-only store).
func (e *errorStore) quantiles(h int, lo, hi float64) (float64, float64, int) {
	if e.sorted == nil || e.sorted[h].len() == 0 {
		return 0, 0, 0
	}
	s := &e.sorted[h]
	return s.quantile(lo), s.quantile(hi), s.len()
}

// quantile returns the q quantile of horizon h's errors (0 when there are none).
func (e *errorStore) quantile(h int, q float64) float64 {
	if e.sorted == nil {
		return 0
	}
	return e.sorted[h].quantile(q)
}

func (e *errorStore) clone() errorStore {
	var c errorStore
	if e.recent != nil {
		c.recent = make([]ring, len(e.recent))
		for i := range e.recent {
			c.recent[i] = e.recent[i].clone()
		}
	}
	if e.wide != nil {
		c.wide, c.sorted = make([]ring, len(e.wide)), make([]sortedBlocks, len(e.sorted))
		for i := range e.wide {
			c.wide[i] = e.wide[i].clone()
			c.sorted[i] = e.sorted[i].clone()
		}
	}
	return c
}

// quantile is the linearly interpolated q-quantile of sorted (Hyndman-Fan type 7).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	i := int(math.Floor(pos))
	if i >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	if i < 0 {
		return sorted[0]
	}
	f := pos - float64(i)
	if math.IsInf(sorted[i], -1) {
		return sorted[i]
	}
	return sorted[i] + f*(sorted[i+1]-sorted[i])
}

// logRatio is ln((a+eps)/(p+eps)); with eps 0 and a zero actual it is -Inf (a lower bound of 0).
func logRatio(a, p, eps float64) float64 {
	if p+eps <= 0 {
		return math.NaN()
	}
	return math.Log((a + eps) / (p + eps))
}
