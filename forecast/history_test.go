package forecast

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHistoryKeepsNewestWithinRoom pushes several multiples of the limit and checks, after every
// push, that the view is the newest limit points at their absolute steps with their missing
// marks (every one at a sample of pushes, the ends at the others), that the buffers never exceed
// limit plus an eighth (at least 16) points, and that points keep their 16-byte alignment parity
// (base stays even).
func TestHistoryKeepsNewestWithinRoom(t *testing.T) {
	tests := []struct {
		name         string
		limit, total int
	}{
		{"small limit", 10, 100},
		{"odd limit", 513, 5000},
		{"one day at 15 s", 5760, 3 * 5760},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := history{limit: tc.limit}
			room := tc.limit + max(tc.limit/8, 16)
			for i := range tc.total {
				h.push(float64(i), i%7 == 0)
				vals, miss, first := h.view()
				n := min(i+1, tc.limit)
				if first != i+1-n || len(vals) != n {
					t.Fatalf("after %d pushes: view of %d points from step %d, want %d from %d", i+1, len(vals), first, n, i+1-n)
				}
				if vals[0] != float64(first) || vals[n-1] != float64(i) {
					t.Fatalf("after %d pushes: view holds %v..%v, want %d..%d", i+1, vals[0], vals[n-1], first, i)
				}
				for _, j := range marksToCheck(i, n) {
					if got, want := miss.at(j), (first+j)%7 == 0; got != want {
						t.Fatalf("after %d pushes: point %d of the view (step %d) missing %v, want %v", i+1, j, first+j, got, want)
					}
				}
				if cap(h.vals) > room || 64*cap(h.miss) > room+63 || h.base%2 != 0 {
					t.Fatalf("after %d pushes: capacities %d, %d (room %d), base %d", i+1, cap(h.vals), cap(h.miss), room, h.base)
				}
			}
		})
	}
}

// marksToCheck lists the points of an n-point view whose missing marks are checked after push
// i: all of them at every 61st push and the first 200, else the ends and the middle.
func marksToCheck(i, n int) []int {
	if i < 200 || i%61 == 0 {
		all := make([]int, n)
		for j := range all {
			all[j] = j
		}
		return all
	}
	return []int{0, n / 2, n - 1}
}

// TestHistoryCloneIndependent checks that a clone keeps the same view and is unaffected by pushes
// to the original.
func TestHistoryCloneIndependent(t *testing.T) {
	h := history{limit: 40}
	for i := range 100 {
		h.push(float64(i), false)
	}
	c := h.clone()
	want, _, _ := c.view()
	want = append([]float64(nil), want...)
	for i := range 30 {
		h.push(float64(-i), true)
	}
	got, _, _ := c.view()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clone changed by pushes to the original (-want +got):\n%s", diff)
	}
}
