package forecast

import "math"

// history is the cleaned series a predictor keeps: vals holds every kept point with missing
// points imputed, miss marks them. Index i is absolute step base+i.
type history struct {
	vals []float64
	// miss has bit i%64 of word i/64 set when vals[i] is missing (imputed), with words for
	// cap(vals) bits: a bit per point rather than a bool's byte (a warm auto forecaster keeps
	// three histories of 336 hourly means and four short ones).
	miss  []uint64
	base  int // absolute step of vals[0]
	limit int // points kept
}

// flags is a view of a history's missing marks from one of its points on.
type flags struct {
	w   []uint64
	off int
}

// at reports whether point i of the view is missing.
func (f flags) at(i int) bool { j := f.off + i; return f.w[j>>6]&(1<<(j&63)) != 0 }

// missing reports whether vals[i] is missing.
func (h *history) missing(i int) bool { return flags{w: h.miss}.at(i) }

// setMissing marks vals[i] missing or not.
func (h *history) setMissing(i int, missing bool) {
	if missing {
		h.miss[i>>6] |= 1 << (i & 63)
	} else {
		h.miss[i>>6] &^= 1 << (i & 63)
	}
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
	if len(h.vals) == cap(h.vals) {
		h.makeRoom()
	}
	h.vals = append(h.vals, v)
	h.setMissing(len(h.vals)-1, missing)
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
		shiftBits(h.miss, over, len(h.vals))
		h.base += over
		return
	}
	c := min(max(n+n/4, 64), h.room())
	vals, miss := make([]float64, n, c), make([]uint64, (c+63)/64)
	copy(vals, h.vals)
	copy(miss, h.miss)
	h.vals, h.miss = vals, miss
}

// shiftBits moves bits by..by+n-1 of w to 0..n-1 (bits from n on are left undefined).
func shiftBits(w []uint64, by, n int) {
	q, r := by>>6, uint(by&63)
	for j := range (n + 63) >> 6 {
		x := w[j+q] >> r
		if r != 0 && j+q+1 < len(w) {
			x |= w[j+q+1] << (64 - r)
		}
		w[j] = x
	}
}

// window returns the newest limit points and their missing marks (views).
func (h *history) window() ([]float64, flags) {
	if over := len(h.vals) - h.limit; over > 0 {
		return h.vals[over:], flags{w: h.miss, off: over}
	}
	return h.vals, flags{w: h.miss}
}

// view returns the newest limit points, their missing marks and the absolute step of the first.
func (h *history) view() ([]float64, flags, int) {
	vals, miss := h.window()
	return vals, miss, h.next() - len(vals)
}

// clone returns a deep copy.
func (h *history) clone() history {
	c := *h
	c.vals = append([]float64(nil), h.vals...)
	c.miss = append([]uint64(nil), h.miss...)
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
