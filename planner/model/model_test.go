package model

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/planner/profile"
)

func TestLearnedRecoversLineDespiteOutliers(t *testing.T) {
	tests := []struct {
		name     string
		outliers int
	}{
		{"clean", 0},
		{"10% outliers", 4},
		{"20% outliers", 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l Learned
			// latency = 0.05 + 1e-5 x load, with a deterministic +-2% wiggle.
			for i := range 40 {
				x := 1000 + float64(i)*500
				y := (0.05 + 1e-5*x) * (1 + 0.02*math.Sin(float64(i)))
				if i%5 == 0 && i/5 < tc.outliers {
					y *= 5 // a scrape during a GC pause
				}
				l.Observe(x, y)
			}
			a, b, ok := l.Fit()
			if !ok {
				t.Fatal("no fit")
			}
			if math.Abs(a-0.05) > 0.01 || math.Abs(b-1e-5)/1e-5 > 0.1 {
				t.Errorf("fit a=%g b=%g, want about 0.05 and 1e-5", a, b)
			}
			x, ok := l.LoadAt(0.2)
			if !ok || math.Abs(x-15000)/15000 > 0.1 {
				t.Errorf("LoadAt(0.2) = %g, %v; want about 15000", x, ok)
			}
		})
	}
}

func TestLearnedRefusesWithoutEvidence(t *testing.T) {
	tests := []struct {
		name  string
		loads []float64
	}{
		{"too few samples", []float64{1, 2, 3}},
		{"no spread in load", []float64{100, 100, 101, 100, 100, 101, 100, 100, 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l Learned
			for _, x := range tc.loads {
				l.Observe(x, 0.1+x/1000)
			}
			if _, ok := l.LoadAt(0.5); ok {
				t.Error("LoadAt returned a capacity without enough evidence")
			}
		})
	}
}

func TestLearnedCapsExtrapolation(t *testing.T) {
	var l Learned
	for i := range 20 {
		x := float64(100 + 10*i) // loads 100..290
		l.Observe(x, 0.01+1e-6*x)
	}
	got, ok := l.LoadAt(1.0) // the line reaches 1s at ~990000
	if want := maxExtrapolation * 290; !ok || got != want {
		t.Errorf("LoadAt = %g, %v; want capped at %g", got, ok, want)
	}
}

// TestLearnedScale: the robust standard deviation around a line is the median absolute residual /
// 0.6745, so a few large outliers do not move it.
func TestLearnedScale(t *testing.T) {
	tests := []struct {
		name     string
		residual func(i int) float64
		want     float64
	}{
		{"on the line", func(int) float64 { return 0 }, 0},
		{"+/-1 ms everywhere", func(i int) float64 { return 0.001 * float64(1-2*(i%2)) }, 0.001 / 0.6745},
		{"+/-1 ms with every tenth sample 50 ms off", func(i int) float64 {
			if i%10 == 0 {
				return 0.05
			}
			return 0.001 * float64(1-2*(i%2))
		}, 0.001 / 0.6745},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l Learned
			for i := range 40 {
				x := float64(1000 + 50*i)
				l.Observe(x, 0.01+2e-6*x+tc.residual(i))
			}
			if got := l.Scale(0.01, 2e-6); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Scale = %.6g, want %.6g", got, tc.want)
			}
		})
	}
}

func TestCalibrator(t *testing.T) {
	tests := []struct {
		name  string
		pairs [][2]float64
		want  float64
	}{
		{"no data is 1", nil, 1},
		{"steady 1.3x", [][2]float64{{1.3, 1}, {2.6, 2}, {0.13, 0.1}}, 1.3},
		{"bounded above", [][2]float64{{10, 1}}, MaxScale},
		{"bounded below", [][2]float64{{0.1, 1}}, MinScale},
		{"ignores garbage", [][2]float64{{math.NaN(), 1}, {1, 0}, {-1, 1}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Calibrator
			for _, p := range tc.pairs {
				c.Observe(p[0], p[1])
			}
			if got := c.Factor(); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Factor = %g, want %g", got, tc.want)
			}
		})
	}
}

// h200 loads the H200 Llama-3.1-8B profile embedded in the repository (origin in its SOURCE.md).
func h200(t *testing.T) profile.Profile {
	t.Helper()
	ps, err := profile.Load(filepath.Join("..", "sim", "scenario", "h200-llama-3.1-8b"))
	if err != nil {
		t.Fatal(err)
	}
	return ps[0]
}

func TestProfileModel(t *testing.T) {
	p := h200(t)
	m := FromProfile(p)
	one, _ := m.Prefill(3000, 1)
	two, _ := m.Prefill(3000, 2)
	if math.Abs(two.TokensPerSecond-2*one.TokensPerSecond) > 1e-6 {
		t.Errorf("2-GPU replica prefill %g tokens/s, want twice the 1-GPU %g", two.TokensPerSecond, one.TokensPerSecond)
	}
	slow, _ := m.Calibrated(1.5, 1).Prefill(3000, 1)
	if math.Abs(slow.ServiceTime-1.5*one.ServiceTime) > 1e-12 {
		t.Errorf("calibrated service time %g, want 1.5 x %g", slow.ServiceTime, one.ServiceTime)
	}
	d, ok := m.Decode(3000, 150, 0.010, 1)
	if !ok {
		t.Fatal("decode at 10 ms infeasible")
	}
	if max := d.KVUsage * p.Decode.MaxKVTokens() / 3075; math.Abs(d.MaxConcurrency-max) > 1e-9 {
		t.Errorf("MaxConcurrency %g, want kv x max_kv_tokens / ctx = %g", d.MaxConcurrency, max)
	}
	tight, ok := m.Calibrated(1, 1.5).Decode(3000, 150, 0.010, 1)
	if ok && tight.TokensPerSecond > d.TokensPerSecond {
		t.Errorf("a slower-than-profiled calibration raised decode capacity: %g > %g", tight.TokensPerSecond, d.TokensPerSecond)
	}
}

// TestDecodeCalibratedThroughput: an engine whose ITL is the profile's x s reaches a given target
// at the KV usage where the profile meets target / s, and there its batch of sequences yields
// tokens 1/s times as fast as the profile says; the batch itself (the sequences that KV usage
// holds) is the profile's.
func TestDecodeCalibratedThroughput(t *testing.T) {
	base := FromProfile(h200(t))
	for _, tc := range []struct {
		name  string
		scale float64 // ITL factor (observed / predicted)
	}{
		{name: "20% faster", scale: 1 / 1.2},
		{name: "20% slower", scale: 1 / 0.8},
		{name: "as profiled", scale: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const target = 0.020
			got, ok := base.Calibrated(1, tc.scale).Decode(3000, 150, target, 1)
			if !ok {
				t.Fatal("calibrated decode infeasible")
			}
			raw, ok := base.Decode(3000, 150, target/tc.scale, 1)
			if !ok {
				t.Fatal("profile decode infeasible")
			}
			if math.Abs(got.KVUsage-raw.KVUsage) > 1e-12 {
				t.Errorf("KV usage %g, want the profile's at target / scale, %g", got.KVUsage, raw.KVUsage)
			}
			if want := raw.TokensPerSecond / tc.scale; math.Abs(got.TokensPerSecond-want) > 1e-9*want {
				t.Errorf("TokensPerSecond %g, want the profile's %g / %g = %g", got.TokensPerSecond, raw.TokensPerSecond, tc.scale, want)
			}
			if math.Abs(got.MaxConcurrency-raw.MaxConcurrency) > 1e-9*raw.MaxConcurrency {
				t.Errorf("MaxConcurrency %g, want the profile's at the same KV usage, %g (the cache holds the same sequences at any speed)", got.MaxConcurrency, raw.MaxConcurrency)
			}
			shared, _ := base.Calibrated(1, tc.scale).SharedEngine().Decode(3000, 150, target, 1)
			if shared.TokensPerSecond != raw.TokensPerSecond || shared.KVUsage != got.KVUsage {
				t.Errorf("shared engine: %g tokens/s at KV %g, want the profile's %g at %g", shared.TokensPerSecond, shared.KVUsage, raw.TokensPerSecond, got.KVUsage)
			}
		})
	}
}

// TestDecodeITLReach: an ITL factor below 1 is credited only up to the KV usage it was observed
// at; past it decode plans at the profile's own operating point, or at the reach where that is
// higher. A factor above 1 applies whatever the reach.
func TestDecodeITLReach(t *testing.T) {
	base := FromProfile(h200(t))
	const isl, osl, target = 2000.0, 30.0, 0.025
	prof, ok := base.Decode(isl, osl, target, 1)
	if !ok {
		t.Fatal("profile decode infeasible")
	}
	fast, _ := base.Calibrated(1, 0.7).Decode(isl, osl, target, 1)
	slow, _ := base.Calibrated(1, 1.25).Decode(isl, osl, target, 1)
	if !(fast.KVUsage > prof.KVUsage+0.1) {
		t.Fatalf("fixture: calibrated KV usage %g not well past the profile's %g", fast.KVUsage, prof.KVUsage)
	}
	mid := (prof.KVUsage + fast.KVUsage) / 2
	tests := []struct {
		name            string
		factor, reach   float64
		wantKV, wantTPS float64
		wantITL         float64 // the operating point's ITL, seconds
	}{
		{name: "seen only at low usage: the profile's operating point", factor: 0.7, reach: 0.05,
			wantKV: prof.KVUsage, wantTPS: prof.TokensPerSecond, wantITL: target},
		{name: "seen between the two: the reach, at the calibrated speed", factor: 0.7, reach: mid,
			wantKV: mid, wantTPS: base.p.Decode.Throughput(mid, isl+osl/2) / 0.7, wantITL: base.p.Decode.ITL(mid, isl+osl/2) * 0.7},
		{name: "seen past the calibrated point: the calibrated one", factor: 0.7, reach: 0.95,
			wantKV: fast.KVUsage, wantTPS: fast.TokensPerSecond, wantITL: target},
		{name: "slower than profiled: the factor whatever the reach", factor: 1.25, reach: 0.01,
			wantKV: slow.KVUsage, wantTPS: slow.TokensPerSecond, wantITL: target},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base.Calibrated(1, tc.factor).WithITLReach(tc.reach)
			got, ok := m.Decode(isl, osl, target, 1)
			if !ok {
				t.Fatal("decode infeasible")
			}
			wantLimited := tc.factor < 1 && tc.reach < fast.KVUsage
			if _, _, limited := m.ITLReachLimits(isl, osl, target); limited != wantLimited {
				t.Errorf("ITLReachLimits says limited = %v, want %v", limited, wantLimited)
			}
			if math.Abs(got.KVUsage-tc.wantKV) > 1e-9 || math.Abs(got.TokensPerSecond-tc.wantTPS) > 1e-6*tc.wantTPS {
				t.Errorf("KV usage %g at %g tokens/s, want %g at %g", got.KVUsage, got.TokensPerSecond, tc.wantKV, tc.wantTPS)
			}
			if math.Abs(got.ITL-tc.wantITL) > 1e-6*tc.wantITL {
				t.Errorf("operating point's ITL %g, want %g", got.ITL, tc.wantITL)
			}
		})
	}
}

// TestReach: the reach is the highest KV usage seen, decaying per sample, and ignores nonsense.
func TestReach(t *testing.T) {
	var r Reach
	for _, kv := range []float64{0.2, 0.5, math.NaN(), -1, math.Inf(1), 0.1} {
		r.Observe(kv)
	}
	if want := max(0.5*reachDecay, 0.1); math.Abs(r.Max()-want) > 1e-12 {
		t.Errorf("Max() = %g, want %g (0.5 decayed once, the invalid samples ignored)", r.Max(), want)
	}
	r.Observe(3)
	if r.Max() != 1 {
		t.Errorf("Max() = %g after a reading above 1, want 1", r.Max())
	}
}

// TestDecodeAffineBeyondSeen: an ITL factor below 1 is credited past the KV usage it was seen at
// only as far as the straight line from the profile's lone-sequence ITL through the calibrated ITL
// there allows (WithITLSeen). The 1,560-token case is the chat-like workload of docs/planner.md:
// the simulated engine (iteration time affine in its batch at that context) reads 0.65 of the
// profile up to usage 0.3 and reaches 25 ms at usage 0.41, about 9,900 output tokens/s
// (planner/sim's decode surface), where the factor alone plans at 0.68 and credits 20,900.
func TestDecodeAffineBeyondSeen(t *testing.T) {
	base := FromProfile(h200(t))
	const isl, osl, target = 1320.0, 480.0, 0.025
	tests := []struct {
		name         string
		factor, seen float64
		shared       bool
		alone        bool    // want exactly what the factor alone plans
		kvLo, kvHi   float64 // else the KV usage planned lies in [kvLo, kvHi]
		tpsLo, tpsHi float64 // and the tokens/s credited in [tpsLo, tpsHi]
	}{
		{name: "flat profile past the seen usage: the line", factor: 0.65, seen: 0.30,
			kvLo: 0.38, kvHi: 0.45, tpsLo: 9000, tpsHi: 10900},
		{name: "nothing seen: the factor alone", factor: 0.65, seen: 0, alone: true},
		{name: "seen past the factor's operating point: the factor alone", factor: 0.65, seen: 0.9, alone: true},
		{name: "slower than profiled: the factor whatever was seen", factor: 1.25, seen: 0.05, alone: true},
		{name: "shared engine: the line's usage at the profile's throughput", factor: 0.65, seen: 0.30, shared: true,
			kvLo: 0.38, kvHi: 0.45, tpsLo: 0, tpsHi: 20000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := base.Calibrated(1, tc.factor)
			if tc.shared {
				m = m.SharedEngine()
			}
			alone, ok := m.Decode(isl, osl, target, 1)
			if !ok {
				t.Fatal("decode infeasible")
			}
			got, ok := m.WithITLSeen(tc.seen).Decode(isl, osl, target, 1)
			if !ok {
				t.Fatal("decode infeasible")
			}
			if tc.alone {
				if diff := cmp.Diff(alone, got); diff != "" {
					t.Errorf("differs from the factor alone (-alone +got):\n%s", diff)
				}
				return
			}
			if got.KVUsage < tc.kvLo || got.KVUsage > tc.kvHi {
				t.Errorf("KV usage %.3f, want within [%g, %g] (the factor alone: %.3f)", got.KVUsage, tc.kvLo, tc.kvHi, alone.KVUsage)
			}
			if got.TokensPerSecond < tc.tpsLo || got.TokensPerSecond > tc.tpsHi {
				t.Errorf("%.0f tokens/s, want within [%g, %g] (the factor alone: %.0f)", got.TokensPerSecond, tc.tpsLo, tc.tpsHi, alone.TokensPerSecond)
			}
			if got.KVUsage >= alone.KVUsage || got.TokensPerSecond >= alone.TokensPerSecond {
				t.Errorf("credits no less than the factor alone: %.3f at %.0f tokens/s against %.3f at %.0f",
					got.KVUsage, got.TokensPerSecond, alone.KVUsage, alone.TokensPerSecond)
			}
		})
	}
}

// TestDecodeAffineLeavesLinearProfiles: where the profile's own curve is affine in the batch (the
// measured 2,997-token row) and the engine is uniformly faster, the line through the seen point is
// no tighter than the profile's shape, so a factor below 1 keeps its credit (within 1%), and the
// line never credits more tokens/s than the factor alone.
func TestDecodeAffineLeavesLinearProfiles(t *testing.T) {
	base := FromProfile(h200(t)).Calibrated(1, 1/1.2)
	for _, seen := range []float64{0.05, 0.1, 0.2} {
		alone, _ := base.Decode(2997, 100, 0.025, 1)
		got, _ := base.WithITLSeen(seen).Decode(2997, 100, 0.025, 1)
		if math.Abs(got.KVUsage-alone.KVUsage) > 0.01*alone.KVUsage {
			t.Errorf("seen at %g: KV usage %.4f, want the factor's own %.4f within 1%%", seen, got.KVUsage, alone.KVUsage)
		}
		if got.TokensPerSecond > alone.TokensPerSecond || got.TokensPerSecond < 0.99*alone.TokensPerSecond {
			t.Errorf("seen at %g: %.0f tokens/s, want at most the factor's own %.0f and within 1%%", seen, got.TokensPerSecond, alone.TokensPerSecond)
		}
	}
}

// TestDecodeOperatingPointITL: Decode reports the calibrated ITL at its operating point. Where the
// target sets the KV usage that ITL is the target; where the measured KV range ends before the
// ITL reaches the target (a KV-bound engine: a small cache, or a loose target), it is the
// profile's ITL at the last measured usage, below the target.
func TestDecodeOperatingPointITL(t *testing.T) {
	const isl, osl = 3000, 150
	m := FromProfile(h200(t))
	ctx := m.Context(isl, osl)
	for _, tc := range []struct {
		name    string
		target  float64
		scale   float64
		kvBound bool // the last measured KV usage meets the target with room to spare
	}{
		{name: "tight target: the target sets the usage", target: 0.010, scale: 1},
		{name: "the default 25 ms target", target: 0.025, scale: 1},
		{name: "loose target: the measured range ends first", target: 0.200, scale: 1, kvBound: true},
		{name: "loose target, 20% slower engine", target: 0.200, scale: 1.25, kvBound: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := m.Calibrated(1, tc.scale)
			d, ok := c.Decode(isl, osl, tc.target, 1)
			if !ok {
				t.Fatal("decode infeasible")
			}
			if atEnd := d.KVUsage >= h200(t).Decode.MaxKVUsage(ctx)-1e-9; atEnd != tc.kvBound {
				t.Fatalf("KV usage %g at the end of the measured range: %v, want %v", d.KVUsage, atEnd, tc.kvBound)
			}
			want := tc.target
			if tc.kvBound {
				want = c.PredictITL(d.KVUsage, ctx)
				if !(want < tc.target) {
					t.Fatalf("predicted ITL %g at the last usage is not below the target %g", want, tc.target)
				}
			}
			if math.Abs(d.ITL-want) > 1e-6*want {
				t.Errorf("ITL %g, want %g", d.ITL, want)
			}
		})
	}
}

// TestPrefillPeak: the peak is the best tokens per second over batches from one prompt up to the
// token budget, on a hand-made curve whose lone-request throughput rises to 50,000 tokens/s at
// 4,000 tokens and falls after (TTFT 40, 50, 80 and 200 ms at 1,000, 2,000, 4,000 and 8,000).
func TestPrefillPeak(t *testing.T) {
	pf, err := profile.NewPrefill([]float64{1000, 2000, 4000, 8000}, []float64{40, 50, 80, 200}, []float64{25000, 40000, 50000, 40000})
	if err != nil {
		t.Fatal(err)
	}
	m := FromProfile(profile.Profile{Prefill: pf})
	for _, tc := range []struct {
		name        string
		m           Profile
		isl, budget float64
		gpus        int32
		lo, hi      float64 // the peak within [lo, hi]
	}{
		{"short prompts batch to the curve's best", m, 1000, 8192, 0, 0.99 * 50000, 50000},
		{"a budget below the prompt: the lone request", m, 2000, 1000, 0, 40000, 40000},
		{"a budget that stops short of the best", m, 1000, 2000, 0, 40000, 40000},
		{"not past the measured inputs", m, 8000, 8192, 0, 40000, 40000},
		{"a slower engine", m.Calibrated(2, 1), 1000, 8192, 0, 0.99 * 25000, 25000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.m.PrefillPeak(tc.isl, tc.budget, tc.gpus)
			if got < tc.lo-1e-6 || got > tc.hi+1e-6 {
				t.Errorf("PrefillPeak(%g, %g) = %.1f, want within [%.1f, %.1f]", tc.isl, tc.budget, got, tc.lo, tc.hi)
			}
		})
	}
	if got := m.PrefillPeak(0, 8192, 1); got != 0 {
		t.Errorf("PrefillPeak at no input length = %g, want 0", got)
	}
	eight := FromProfile(h200(t))
	one, two := eight.PrefillPeak(3000, 8192, 1), eight.PrefillPeak(3000, 8192, 2)
	if math.Abs(two-2*one) > 1e-6*one {
		t.Errorf("a 2-GPU replica's peak %g, want twice the 1-GPU %g", two, one)
	}
	if lone, _ := eight.Prefill(1000, 1); !(eight.PrefillPeak(1000, 8192, 1) > 1.5*lone.TokensPerSecond) {
		t.Errorf("the H200 8B profile's peak at 1,000-token prompts %g, want well above the lone request's %g", eight.PrefillPeak(1000, 8192, 1), lone.TokensPerSecond)
	}
}
