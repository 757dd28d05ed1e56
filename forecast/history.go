package forecast

import "math"

// history is the cleaned series a predictor keeps: vals holds every kept point with missing
// points imputed, miss marks them. Index i is absolute step base+i.
type history struct {
	vals  []float64
	miss  []bool
	base  int // absolute step of vals[0]
	limit int // points kept
}

// n is the number of kept points.
func (h *history) n() int { return len(h.vals) }

// last returns the newest value (0 when empty).
func (h *history) last() float64 {
	if len(h.vals) == 0 {
		return 0
	}
	return h.vals[len(h.vals)-1]
}

// next returns the absolute step of the next point to arrive.
func (h *history) next() int { return h.base + len(h.vals) }

// push appends a point, dropping the oldest beyond limit (amortised O(1)). The buffers never
// hold more than room() points, so a long-running forecaster keeps at most an eighth more than
// limit (it used to grow to twice limit, the bulk of its memory at fine steps).
func (h *history) push(v float64, missing bool) {
	if len(h.vals) == cap(h.vals) || len(h.miss) == cap(h.miss) {
		h.makeRoom()
	}
	h.vals = append(h.vals, v)
	h.miss = append(h.miss, missing)
}

// room is the capacity the buffers grow to: limit plus an eighth (at least 16) of slack, so
// that dropping old points moves limit points once per limit/8 pushes.
func (h *history) room() int { return h.limit + max(h.limit/8, 16) }

// makeRoom frees one slot: at room() points it drops those older than the newest limit, in
// place (keeping limit or limit+1); below it, it grows the buffers (by a quarter, at most to
// room()).
func (h *history) makeRoom() {
	n := len(h.vals)
	if n >= h.room() {
		// An even drop keeps every point at the same 16-byte alignment, so gonum's vectorised
		// sums over a view (linear's least squares) round exactly as before the drop.
		over := n - h.limit
		over -= over % 2
		h.vals = h.vals[:copy(h.vals, h.vals[over:])]
		h.miss = h.miss[:copy(h.miss, h.miss[over:])]
		h.base += over
		return
	}
	c := min(max(n+n/4, 64), h.room())
	vals, miss := make([]float64, n, c), make([]bool, n, c)
	copy(vals, h.vals)
	copy(miss, h.miss)
	h.vals, h.miss = vals, miss
}

// window returns the newest limit points (a view).
func (h *history) window() ([]float64, []bool) {
	if over := len(h.vals) - h.limit; over > 0 {
		return h.vals[over:], h.miss[over:]
	}
	return h.vals, h.miss
}

// view returns the newest limit points and the absolute step of the first.
func (h *history) view() ([]float64, []bool, int) {
	vals, miss := h.window()
	return vals, miss, h.next() - len(vals)
}

// clone returns a deep copy.
func (h *history) clone() history {
	c := *h
	c.vals = append([]float64(nil), h.vals...)
	c.miss = append([]bool(nil), h.miss...)
	return c
}

// GapMask marks the points of values that are collection gaps: runs of at least minRun
// consecutive exact zeros. NaN, infinite and negative values are also marked (missing). A
// minRun below 1 marks only those.
func GapMask(values []float64, minRun int) []bool {
	mask := make([]bool, len(values))
	run := 0
	for i, v := range values {
		if !usable(v) {
			mask[i] = true
		}
		if v != 0 {
			run = 0
			continue
		}
		run++
		if minRun > 0 && run >= minRun {
			for j := i - run + 1; j <= i; j++ {
				mask[j] = true
			}
		}
	}
	return mask
}

// usable reports whether v is a valid load value: finite and not negative.
func usable(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 }
