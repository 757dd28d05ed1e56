package forecast

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// seedDir holds the fuzz seed series (one raw little-endian float64 stream per file).
var seedDir = filepath.Join("..", "testdata", "forecast", "fuzz-seeds")

// FuzzForecast feeds arbitrary series (raw float64 bits: NaN, infinities, negatives, huge and
// tiny values, long zero runs) to every method with fuzzed options, on the series itself and
// through 3-point means (Options.Aggregate), and checks the invariants:
// no panic, h points back, 0 <= Lower <= Value <= Upper < Inf.
//
//	go test ./forecast -run '^$' -fuzz FuzzForecast -fuzztime 60s
func FuzzForecast(f *testing.F) {
	entries, _ := os.ReadDir(seedDir)
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(seedDir, e.Name())); err == nil {
			f.Add(b, uint8(4), uint8(3), uint8(2))
		}
	}
	f.Add(floatBytes(1, 2, 3, math.NaN(), 0, 0, 0, 0, -1, math.Inf(1)), uint8(2), uint8(5), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, period, horizon, gap uint8) {
		vals := make([]float64, 0, len(data)/8)
		for len(data) >= 8 {
			vals = append(vals, math.Float64frombits(binary.LittleEndian.Uint64(data)))
			data = data[8:]
		}
		o := Options{Period: int(period % 16), MaxHorizon: int(horizon%8) + 1, GapSteps: int(gap%5) - 1, History: 64, RefitEvery: 8}
		h := int(horizon%12) + 1
		for _, agg := range []int{1, 3} { // the series itself, and 3-point means (coarse)
			o.Aggregate = agg
			for _, m := range Methods() {
				fc, err := New(m, o)
				if err != nil {
					t.Fatalf("New(%q, %+v): %v", m, o, err)
				}
				for _, v := range vals {
					fc.Observe(v)
					pts := fc.Forecast(nil, h, 0.9)
					if len(pts) != h {
						t.Fatalf("%s, Aggregate %d: %d points, want %d", m, agg, len(pts), h)
					}
					checkPoints(t, m, pts)
				}
			}
		}
	})
}

// floatBytes encodes values as the fuzz target reads them.
func floatBytes(vals ...float64) []byte {
	b := make([]byte, 0, 8*len(vals))
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// TestWriteFuzzSeeds regenerates the seed files with -update-seeds (kept in the repository so the
// fuzz target starts from dirty shapes: gaps, shifts, spikes, NaN runs).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("FORECAST_UPDATE_SEEDS") == "" {
		t.Skip("set FORECAST_UPDATE_SEEDS=1 to regenerate ../testdata/forecast/fuzz-seeds")
	}
	cycle := daily(96, 12, 100, 40, 0.1, 9)
	gap := append([]float64(nil), cycle...)
	for i := 40; i < 60; i++ {
		gap[i] = 0
	}
	shift := append([]float64(nil), cycle...)
	for i := 50; i < len(shift); i++ {
		shift[i] *= 10
	}
	spikes := append([]float64(nil), cycle...)
	spikes[10], spikes[30], spikes[31] = 1e12, math.Inf(1), math.NaN()
	seeds := map[string][]float64{"cycle": cycle, "gap": gap, "shift": shift, "spikes": spikes,
		"tiny": {1e-300, 0, 1e-300, 0, 5e-324, 0, 1e-300}}
	if err := os.MkdirAll(seedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, vals := range seeds {
		if err := os.WriteFile(filepath.Join(seedDir, name+".bin"), floatBytes(vals...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
