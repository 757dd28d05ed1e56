package synth

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/workload"
)

func tokens() LogNormal {
	return LogNormal{InputMean: 2000, OutputMean: 100, InputSigma: 0.5, OutputSigma: 0.5, MaxInput: 10000, MaxOutput: 1000}
}

// countIn counts arrivals in [from, to).
func countIn(wl sim.Workload, from, to time.Duration) int {
	n := 0
	for _, r := range wl.Requests {
		if r.Arrival >= from && r.Arrival < to {
			n++
		}
	}
	return n
}

func TestSyntheticShapes(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name string
		spec Spec
		// expected mean rates (req/s) in two spans
		spanA, spanB [2]time.Duration
		rateA, rateB float64
	}{
		{"diurnal trough and peak", Spec{Shape: Diurnal, Rate: 10, Amplitude: 0.5},
			[2]time.Duration{4*h + 30*time.Minute, 5*h + 30*time.Minute}, [2]time.Duration{16*h + 30*time.Minute, 17*h + 30*time.Minute}, 5, 15},
		{"step", Spec{Shape: Step, Rate: 4, Factor: 2, Duration: 2 * h},
			[2]time.Duration{0, h}, [2]time.Duration{h, 2 * h}, 4, 8},
		{"spike", Spec{Shape: Spike, Rate: 4, Factor: 5, Duration: 2 * h, BurstLength: 10 * time.Minute},
			[2]time.Duration{0, 50 * time.Minute}, [2]time.Duration{h, h + 10*time.Minute}, 4, 20},
		{"ramp", Spec{Shape: Ramp, Rate: 5, Duration: 2 * h},
			[2]time.Duration{0, 10 * time.Minute}, [2]time.Duration{110 * time.Minute, 2 * h}, 5 * (0.2 + 1.6/24), 5 * (0.2 + 1.6*23/24)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Tokens = tokens()
			wl, err := Synthetic(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				span [2]time.Duration
				want float64
			}{{tt.spanA, tt.rateA}, {tt.spanB, tt.rateB}} {
				got := float64(countIn(wl, c.span[0], c.span[1])) / (c.span[1] - c.span[0]).Seconds()
				if math.Abs(got-c.want)/c.want > 0.08 {
					t.Errorf("rate over %v: %.2f/s, want about %.2f/s", c.span, got, c.want)
				}
			}
		})
	}
}

func TestSyntheticIsDeterministicPerSeed(t *testing.T) {
	spec := Spec{Shape: Diurnal, Rate: 2, Duration: 3 * time.Hour, Bursts: 3, Tokens: tokens(), Seed: 7}
	a, err := Synthetic(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Synthetic(spec)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different workloads:\n%s", diff)
	}
	spec.Seed = 8
	c, _ := Synthetic(spec)
	if cmp.Equal(a, c) {
		t.Error("different seeds gave the same workload")
	}
}

func TestSyntheticRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
	}{
		{"unknown shape", Spec{Shape: "square", Rate: 1, Tokens: tokens()}},
		{"zero rate", Spec{Shape: Step, Tokens: tokens()}},
		{"amplitude above 1", Spec{Shape: Diurnal, Rate: 1, Amplitude: 2, Tokens: tokens()}},
		{"no tokens", Spec{Shape: Diurnal, Rate: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Synthetic(tt.spec); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestServeGenKeepsRateAndBurstiness(t *testing.T) {
	win := 600 * time.Second
	sg := &workload.ServeGen{Window: win, Clients: []workload.Client{
		{ID: "0", Windows: []workload.Window{
			{Start: 0, Rate: 5, CV: 1, Pattern: "Gamma", Shape: 1, Scale: 0.2},
			{Start: win, Rate: 5, CV: 3, Pattern: "Gamma", Shape: 1.0 / 9, Scale: 1.8},
			{Start: 2 * win, Rate: 0},
		}},
		{ID: "1", Windows: []workload.Window{
			{Start: 0, Rate: 2, CV: 0.5, Pattern: "Weibull", Shape: 2.1, Scale: 0.56},
			{Start: win, Rate: 2, Pattern: "Weibull", Shape: -1, Scale: 0}, // unusable fit: Poisson
		}},
	}}
	wl, err := ServeGen(sg, ServeGenOptions{RateScale: 2, Seed: 3, Tokens: tokens()})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{14, 14, 0} {
		got := float64(countIn(wl, time.Duration(i)*win, time.Duration(i+1)*win)) / win.Seconds()
		if math.Abs(got-want) > 0.1*want+0.01 {
			t.Errorf("window %d: %.2f req/s, want %.2f (sum of rates x 2)", i, got, want)
		}
	}
	if cvA, cvB := gapCV(wl, 0, win), gapCV(wl, win, 2*win); !(cvB > cvA+0.5) {
		t.Errorf("inter-arrival CV %.2f in the bursty window, %.2f in the calm one: burstiness lost", cvB, cvA)
	}
}

func gapCV(wl sim.Workload, from, to time.Duration) float64 {
	var prev, sum, sum2, n float64
	first := true
	for _, r := range wl.Requests {
		if r.Arrival < from || r.Arrival >= to {
			continue
		}
		t := r.Arrival.Seconds()
		if !first {
			g := t - prev
			sum, sum2, n = sum+g, sum2+g*g, n+1
		}
		prev, first = t, false
	}
	m := sum / n
	return math.Sqrt(sum2/n-m*m) / m
}

func TestFromTraceSpeedupCompressesTime(t *testing.T) {
	reqs := []workload.Request{{Arrival: 4 * time.Second, InputTokens: 10, OutputTokens: 0}, {Arrival: 0, InputTokens: 5, OutputTokens: 2}}
	wl, err := FromTrace("t", reqs, TraceOptions{Speedup: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []sim.Request{{Arrival: 0, InputTokens: 5, OutputTokens: 2}, {Arrival: 2 * time.Second, InputTokens: 10, OutputTokens: 1}}
	if diff := cmp.Diff(want, wl.Requests); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if wl.Duration != 2*time.Second || !strings.Contains(wl.Name, "TIME-COMPRESSED x2") {
		t.Errorf("duration %v, name %q: want 2s and the compression labelled", wl.Duration, wl.Name)
	}
	for _, o := range []TraceOptions{{RateScale: -1}, {Speedup: math.Inf(1)}, {RateScale: math.NaN()}} {
		if _, err := FromTrace("t", reqs, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestFromTraceRateScaleKeepsTime: --rate-scale multiplies the load without compressing time:
// the span stays, each half of a trace whose second half is three times busier keeps that ratio,
// and the count is the scale times the trace's (exactly for integers, within the thinning's
// noise otherwise).
func TestFromTraceRateScaleKeepsTime(t *testing.T) {
	var reqs []workload.Request
	for i := range 20000 { // 1 h: 5,000 requests in the first half, 15,000 in the second
		at := time.Duration(i) * 1800 * time.Second / 5000
		if i >= 5000 {
			at = 1800*time.Second + time.Duration(i-5000)*1800*time.Second/15000
		}
		reqs = append(reqs, workload.Request{Arrival: at, InputTokens: 100, OutputTokens: 10})
	}
	tests := []struct {
		name  string
		scale float64
		tol   float64 // relative tolerance on the count
	}{
		{"x1", 1, 0},
		{"x2: two copies", 2, 0},
		{"x3", 3, 0},
		{"x2.5: two copies and a half-thinned one", 2.5, 0.02},
		{"x0.5: thinned", 0.5, 0.02},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wl, err := FromTrace("t", reqs, TraceOptions{RateScale: tt.scale, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.scale * float64(len(reqs))
			if got := float64(len(wl.Requests)); math.Abs(got-want) > tt.tol*want {
				t.Errorf("%.0f requests, want %.0f", got, want)
			}
			if span := reqs[len(reqs)-1].Arrival; wl.Duration != span {
				t.Errorf("duration %v, want the trace's %v (time not compressed)", wl.Duration, span)
			}
			var first, second float64
			for i, r := range wl.Requests {
				if i > 0 && r.Arrival < wl.Requests[i-1].Arrival {
					t.Fatalf("request %d arrives before request %d", i, i-1)
				}
				if r.Arrival < 1800*time.Second {
					first++
				} else {
					second++
				}
			}
			// The copies' shifts (< 5 min) move some of the busy half into the quiet one.
			if ratio := second / first; ratio < 2.3 || ratio > 3.1 {
				t.Errorf("second half / first half = %.2f, want about 3 (the trace's shape kept)", ratio)
			}
		})
	}
}

// TestHistoryPrecedesTheWorkload: the warm-up history is drawn by the workload's own generator
// before it starts and observed per step: the diurnal cycle continued backwards, counting noise
// on every step (not a smooth curve), each step's own token means, and ServeGen's gaps missing.
func TestHistoryPrecedesTheWorkload(t *testing.T) {
	spec := Spec{Shape: Diurnal, Rate: 20, Amplitude: 0.5, Duration: 2 * time.Hour, Tokens: tokens(), Seed: 1}
	h := SyntheticHistory(spec, 24*time.Hour, time.Minute)
	if len(h.RequestRate) != 1440 || len(h.InputTokens) != 1440 || len(h.OutputTokens) != 1440 {
		t.Fatalf("history of %d/%d/%d points, want 1440 each", len(h.RequestRate), len(h.InputTokens), len(h.OutputTokens))
	}
	// The day before: index i is -24h + i min; the trough (05:00) is at i = 300, the peak at 1020.
	trough, peak := mean(h.RequestRate[290:310]), mean(h.RequestRate[1010:1030])
	if math.Abs(trough-10) > 1.5 || math.Abs(peak-30) > 2 {
		t.Errorf("history trough %.1f/s and peak %.1f/s, want about 10 and 30", trough, peak)
	}
	// Counting noise: one minute at ~10/s is ~600 arrivals, a standard deviation of ~0.4/s.
	var sq float64
	for i := 291; i < 310; i++ {
		d := h.RequestRate[i] - h.RequestRate[i-1]
		sq += d * d
	}
	if sd := math.Sqrt(sq / 19 / 2); sd < 0.2 || sd > 0.8 {
		t.Errorf("step-to-step noise of the history %.2f/s, want the Poisson ~0.4/s of counting a minute", sd)
	}
	if h.InputTokens[300] == h.InputTokens[301] {
		t.Errorf("input token means %v and %v are equal: not each step's own requests", h.InputTokens[300], h.InputTokens[301])
	}

	win := 600 * time.Second
	sg := &workload.ServeGen{Window: win, Clients: []workload.Client{{ID: "0", Windows: []workload.Window{
		{Start: 0, Rate: 4, Pattern: "Gamma", Shape: 1, Scale: 0.25},
		{Start: win, Rate: 0},
		{Start: 2 * win, Rate: 6, Pattern: "Gamma", Shape: 1, Scale: 1.0 / 6},
	}}}}
	sh := ServeGenHistory(sg, ServeGenOptions{Start: 2 * win, RateScale: 0.5, Seed: 3, Tokens: tokens()}, 2*win, 5*time.Minute)
	if len(sh.RequestRate) != 4 {
		t.Fatalf("ServeGen history of %d points, want 4", len(sh.RequestRate))
	}
	for i, want := range []float64{2, 2} {
		if got := sh.RequestRate[i]; math.Abs(got-want) > 0.25 {
			t.Errorf("ServeGen history step %d: %.2f/s, want about %.0f (rate 4 x scale 0.5, ~4%% counting noise)", i, got, want)
		}
	}
	if !math.IsNaN(sh.RequestRate[2]) || !math.IsNaN(sh.RequestRate[3]) {
		t.Errorf("ServeGen history over a zero-rate window %v, want missing (NaN)", sh.RequestRate[2:])
	}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
