package sim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPercentilesMatchSorting(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 10, 101, 1000, 4097} {
		xs := make([]float32, n)
		for i := range xs {
			xs[i] = float32(math.Floor(r.Float64() * 50)) // many ties
		}
		xs = append(xs, float32(math.NaN()))
		sorted := slices.Clone(xs[:n])
		slices.Sort(sorted)
		at := func(q float64) float64 { return float64(sorted[min(max(int(math.Ceil(q*float64(n)))-1, 0), n-1)]) }
		want := Percentiles{P50: at(0.5), P90: at(0.9), P99: at(0.99)}
		if got := percentiles(xs); got != want {
			t.Errorf("n=%d: percentiles %+v, sorting gives %+v", n, got, want)
		}
	}
}
