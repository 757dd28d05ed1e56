package forecast

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortedBlocksMatchesSortedSlice slides windows of several sizes over value streams with
// duplicates, infinities, signed zeros and monotone runs (which drain and refill blocks), and
// checks every order statistic and quantile against a sorted copy of the window.
func TestSortedBlocksMatchesSortedSlice(t *testing.T) {
	tests := []struct {
		name   string
		window int
		n      int
		gen    func(r *rand.Rand, i int) float64
	}{
		{"normal, window below one block", 50, 400, func(r *rand.Rand, _ int) float64 { return r.NormFloat64() }},
		{"normal, many blocks", 1008, 5000, func(r *rand.Rand, _ int) float64 { return r.NormFloat64() }},
		{"few distinct values", 300, 3000, func(r *rand.Rand, _ int) float64 { return float64(r.IntN(4)) }},
		{"rising then falling", 500, 4000, func(_ *rand.Rand, i int) float64 { return math.Abs(float64(i%2000 - 1000)) }},
		{"infinities and signed zeros", 200, 2000, func(r *rand.Rand, _ int) float64 {
			return []float64{math.Inf(-1), math.Inf(1), math.Copysign(0, -1), 0, r.Float64()}[r.IntN(5)]
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(tc.window)))
			rg := newRing(tc.window)
			var s sortedBlocks
			for i := range tc.n {
				v := tc.gen(r, i)
				if old, ok := rg.add(v); ok && !s.remove(old) {
					t.Fatalf("step %d: evicted %v not found", i, old)
				}
				s.insert(v)
				if i%37 == 0 || i == tc.n-1 {
					checkBlocks(t, &s, rg.values())
				}
			}
		})
	}
}

// checkBlocks compares s with the values it should hold and checks its block invariants.
func checkBlocks(t *testing.T, s *sortedBlocks, vals []float64) {
	t.Helper()
	want := slices.Clone(vals)
	slices.Sort(want)
	if s.len() != len(want) {
		t.Fatalf("len %d, want %d", s.len(), len(want))
	}
	got := s.values(nil)
	for k := range want {
		if !same(got[k], want[k]) || !same(s.at(k), want[k]) {
			t.Fatalf("k=%d: values %v, at %v, want %v", k, got[k], s.at(k), want[k])
		}
	}
	for _, q := range []float64{0, 0.05, 0.1, 0.5, 0.9, 0.95, 1} {
		if g, w := s.quantile(q), quantile(want, q); !same(g, w) {
			t.Fatalf("quantile(%v) = %v, want %v", q, g, w)
		}
	}
	for j, b := range s.blocks {
		if len(b) == 0 || len(b) >= 2*blockSize || s.firsts[j] != b[0] || !slices.IsSorted(b) {
			t.Fatalf("block %d of %d: len %d, first %v vs %v", j, len(s.blocks), len(b), s.firsts[j], b[0])
		}
		if j > 0 && s.blocks[j-1][len(s.blocks[j-1])-1] > b[0] {
			t.Fatalf("blocks %d and %d overlap", j-1, j)
		}
	}
	if limit := len(want)/(blockSize/4) + 2; len(s.blocks) > limit {
		t.Fatalf("%d blocks for %d values (limit %d): merging does not work", len(s.blocks), len(want), limit)
	}
}

// same is == that also equates NaNs.
func same(a, b float64) bool { return a == b || a != a && b != b }

// TestSortedBlocksEdges covers the empty set, removing what is not there, and NaN.
func TestSortedBlocksEdges(t *testing.T) {
	var s sortedBlocks
	if got := s.quantile(0.9); got != 0 {
		t.Errorf("empty quantile = %v, want 0", got)
	}
	if s.remove(1) {
		t.Error("remove from empty reported success")
	}
	s.insert(math.NaN())
	s.insert(2)
	if s.len() != 1 || s.remove(3) || s.remove(math.NaN()) {
		t.Errorf("after NaN and 2: len %d; removing 3 or NaN must fail", s.len())
	}
	if !s.remove(2) || s.len() != 0 {
		t.Errorf("remove(2): len %d, want 0", s.len())
	}
}

// TestSortedBlocksSteadyStateAllocs checks that a full sliding window does not allocate.
func TestSortedBlocksSteadyStateAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rg := newRing(1008)
	var s sortedBlocks
	add := func() {
		v := r.NormFloat64()
		if old, ok := rg.add(v); ok {
			s.remove(old)
		}
		s.insert(v)
	}
	for range 20000 {
		add()
	}
	if n := testing.AllocsPerRun(1000, add); n != 0 {
		t.Errorf("%v allocations per add in steady state, want 0", n)
	}
}

// TestLogSum checks the product form of a sum of logarithms against summing math.Log.
func TestLogSum(t *testing.T) {
	tests := []struct {
		name string
		vals []float64
	}{
		{"one value", []float64{3}},
		{"settling variances", func() []float64 {
			v := make([]float64, 2000)
			for i := range v {
				v[i] = 2e4 * (1 + 1/float64(i+1))
			}
			return v
		}()},
		{"wide range", []float64{1e-300, 1e300, 5e-324, 1.5, math.MaxFloat64, 0.25, 7e-310}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l logSum
			want := 0.0
			for _, v := range tc.vals {
				l.add(v)
				want += math.Log(v)
			}
			if got := l.sum(); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Errorf("sum = %.17g, want %.17g", got, want)
			}
		})
	}
}
