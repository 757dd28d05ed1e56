package sim

import (
	"math"
	"sort"

	"github.com/tidal-planner/tidal/planner/profile"
)

// decodeSurface is the world's decode engine: the time of one decode iteration (one new token for
// every sequence of the batch) as a function of the batch size n and the sequences' mean context
// length c, built from a Dynamo profile's measured points. It is immutable.
//
// Each measured point (KV usage u, context length c, ITL t) is a batch of n = round(u x capacity
// / c) sequences (at least 1) holding c tokens each, which the profiler saw iterate once per t.
// The points of one context length form a row of t against n, and the world reads the rows at
// equal batch size (not at equal KV usage: a short-context batch at a given usage holds many
// more sequences than a long-context one), interpolating linearly in context length between the
// two rows around c:
//
//   - within a row, linear in n between measured batches, made non-decreasing (a bigger batch
//     cannot iterate faster; raising a noisy point only ever overstates latency);
//   - beyond a row's largest batch, linear with the row's mean slope (first to last point): each
//     added sequence costs its share of the step and its KV reads; below its smallest batch, the
//     smallest batch's time;
//   - across rows at equal n, made non-decreasing in context length (a longer context cannot
//     iterate faster): each row is raised to the rows of shorter contexts where they are slower;
//   - below the shortest measured context, the shortest row; above the longest, the longest row
//     plus the KV reads of the extra context, n x (c - longest) x perKVToken, where perKVToken
//     is the KV-token coefficient of a least-squares fit of iteration time = a + b x n + k x
//     n x c over the reachable points (Dynamo's forward-pass regression of wall time over
//     decode requests and KV tokens, components/src/dynamo/planner/core/perf_model/decode.py;
//     see ../shared/research/dynamo-planner.md), clamped at zero.
//
// So the surface is non-decreasing in n and in c everywhere, equals the measured ITL at every
// point the two envelopes leave alone, and overstates by the envelope's raise where they do not
// (docs/simulate.md lists the error at every profiled point; calibration_test.go pins it).
type decodeSurface struct {
	rows       []batchRow // by increasing context length
	perKVToken float64    // seconds per KV token per iteration beyond the longest context (>= 0)
}

// batchRow is the iteration time against batch size at one measured context length.
type batchRow struct {
	ctx   float64
	n, t  []float64 // n strictly increasing; t non-decreasing, seconds
	slope float64   // seconds per added sequence beyond the largest batch (>= 0)
}

// newDecodeSurface builds the surface from a profile's decode points.
func newDecodeSurface(d profile.Decode) decodeSurface {
	capacity := d.MaxKVTokens()
	var s decodeSurface
	var fit lsq3
	for _, p := range d.Points() { // by context length, then KV usage (so by batch size)
		if len(s.rows) == 0 || s.rows[len(s.rows)-1].ctx != p.ContextLength {
			s.rows = append(s.rows, batchRow{ctx: p.ContextLength})
		}
		r := &s.rows[len(s.rows)-1]
		n := pointBatch(p, capacity)
		if n <= DefaultMaxBatch {
			fit.add(n, n*p.ContextLength, p.ITL)
		}
		t := p.ITL
		if k := len(r.n); k > 0 {
			t = max(t, r.t[k-1])
			if n <= r.n[k-1] { // two usages rounding to one batch: keep the slower
				r.t[k-1] = t
				continue
			}
		}
		r.n, r.t = append(r.n, n), append(r.t, t)
	}
	for i := range s.rows {
		r := &s.rows[i]
		if k := len(r.n); k > 1 {
			r.slope = max((r.t[k-1]-r.t[0])/(r.n[k-1]-r.n[0]), 0)
		}
	}
	if c, ok := fit.solve(); ok {
		s.perKVToken = max(c[2], 0)
	}
	return s
}

// lsq3 accumulates the normal equations of the least-squares fit y = c0 + c1 x1 + c2 x2.
type lsq3 struct {
	a [3][3]float64
	b [3]float64
}

func (l *lsq3) add(x1, x2, y float64) {
	x := [3]float64{1, x1, x2}
	for i := range 3 {
		l.b[i] += x[i] * y
		for j := range 3 {
			l.a[i][j] += x[i] * x[j]
		}
	}
}

// solve returns the coefficients by Cramer's rule; false when the points do not determine them.
func (l *lsq3) solve() ([3]float64, bool) {
	det := det3(l.a)
	if math.Abs(det) < 1e-12*math.Abs(l.a[0][0]*l.a[1][1]*l.a[2][2]) || det == 0 {
		return [3]float64{}, false
	}
	var c [3]float64
	for k := range 3 {
		m := l.a
		for i := range 3 {
			m[i][k] = l.b[i]
		}
		c[k] = det3(m) / det
	}
	return c, true
}

func det3(m [3][3]float64) float64 {
	return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) - m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
}

// pointBatch is the batch size a measured decode point ran: its KV tokens over its context.
func pointBatch(p profile.DecodePoint, capacity float64) float64 {
	return max(math.Round(p.KVUsage*capacity/p.ContextLength), 1)
}

// at is the row's iteration time at batch size n.
func (r *batchRow) at(n float64) float64 {
	k := len(r.n)
	switch {
	case n <= r.n[0]:
		return r.t[0]
	case n >= r.n[k-1]:
		return r.t[k-1] + (n-r.n[k-1])*r.slope
	}
	j := sort.SearchFloat64s(r.n, n)
	if r.n[j] == n {
		return r.t[j]
	}
	f := (n - r.n[j-1]) / (r.n[j] - r.n[j-1])
	return r.t[j-1]*(1-f) + r.t[j]*f
}

// iteration is the time in seconds of one decode iteration of n sequences of mean context ctx.
func (s decodeSurface) iteration(n, ctx float64) float64 {
	rows := s.rows
	j := sort.Search(len(rows), func(i int) bool { return rows[i].ctx >= ctx })
	if j == len(rows) { // above the longest context
		last := &rows[len(rows)-1]
		return s.envelope(n, len(rows)-1) + s.perKVToken*n*(ctx-last.ctx)
	}
	if j == 0 || len(rows) == 1 {
		return rows[0].at(n) // at or below the shortest context: the shortest row
	}
	upper := j // the pair read is rows[upper-1], rows[upper]
	lo := s.envelope(n, upper-1)
	hi := max(lo, rows[upper].at(n))
	a, b := rows[upper-1].ctx, rows[upper].ctx
	f := (ctx - a) / (b - a)
	return lo + (hi-lo)*f
}

// envelope is the slowest of rows 0..i at batch size n: row i raised to the shorter contexts.
func (s decodeSurface) envelope(n float64, i int) float64 {
	t := s.rows[0].at(n)
	for k := 1; k <= i; k++ {
		t = max(t, s.rows[k].at(n))
	}
	return t
}
