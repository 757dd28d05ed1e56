package sim

import (
	"math"
	"testing"
	"time"
)

// TestKVUsageOverWindow reads the same world twice, with KV usage as of the last scrape and over
// the window (Cadence.KVOverWindow). At every tick the windowed reading must be the mean of the
// instant readings of the window's scrapes: those the instant reader saw at this tick and the
// ticks before it, back to the window's start. The workload's busy middle third moves the usage.
func TestKVUsageOverWindow(t *testing.T) {
	tests := []struct {
		name   string
		window time.Duration
		k      int // scrapes in the window (15 s apart, the newest excluded)
	}{
		{"one-minute window", time.Minute, 4},
		{"half-minute window", 30 * time.Second, 2},
		{"one-scrape window", 15 * time.Second, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDeployment(t, 2, 1)
			read := func(over bool) []float64 {
				f := &fixed{cadence: Cadence{Interval: 15 * time.Second, Window: tt.window, KVOverWindow: over}}
				if _, err := Run(d, bursty(), f, Options{}); err != nil {
					t.Fatal(err)
				}
				out := make([]float64, len(f.seen))
				for i, o := range f.seen {
					out[i] = math.NaN()
					if so, ok := o.Service("decode"); ok && so.KVUsage.OK {
						out[i] = so.KVUsage.V
					}
				}
				return out
			}
			instant, windowed := read(false), read(true)
			if len(instant) != len(windowed) {
				t.Fatalf("%d ticks instant, %d windowed", len(instant), len(windowed))
			}
			moved, checked := 0.0, 0
			for i := tt.k; i < len(instant); i++ {
				var sum float64
				for j := range tt.k {
					sum += instant[i-j]
				}
				want := sum / float64(tt.k)
				if math.IsNaN(want) {
					continue // a scrape without decode workers serving
				}
				checked++
				moved = max(moved, math.Abs(instant[i]-want))
				if math.Abs(windowed[i]-want) > 1e-12 {
					t.Fatalf("tick %d: windowed KV usage %v, want the mean %v of the instant readings %v", i, windowed[i], want, instant[i-tt.k+1:i+1])
				}
			}
			if checked < len(instant)/2 {
				t.Fatalf("only %d of %d ticks had KV readings to compare", checked, len(instant))
			}
			if tt.k > 1 && moved < 0.01 {
				t.Errorf("the instant reading never left the window's mean by 1%% of the cache (%v): the test cannot tell them apart", moved)
			}
		})
	}
}
