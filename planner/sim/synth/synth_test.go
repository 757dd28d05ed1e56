package synth

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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

func TestFromTraceScalesTime(t *testing.T) {
	reqs := []workload.Request{{Arrival: 4 * time.Second, InputTokens: 10, OutputTokens: 0}, {Arrival: 0, InputTokens: 5, OutputTokens: 2}}
	wl, err := FromTrace("t", reqs, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []sim.Request{{Arrival: 0, InputTokens: 5, OutputTokens: 2}, {Arrival: 2 * time.Second, InputTokens: 10, OutputTokens: 1}}
	if diff := cmp.Diff(want, wl.Requests); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := FromTrace("t", reqs, 0); err == nil {
		t.Error("rate scale 0 accepted")
	}
}

func TestHistoryPrecedesTheWorkload(t *testing.T) {
	spec := Spec{Shape: Diurnal, Rate: 20, Amplitude: 0.5, Duration: 2 * time.Hour, Tokens: tokens(), Seed: 1}
	wl, err := Synthetic(spec)
	if err != nil {
		t.Fatal(err)
	}
	h := SyntheticHistory(spec, 24*time.Hour, time.Minute, wl)
	if len(h.RequestRate) != 1440 || len(h.InputTokens) != 1440 || len(h.OutputTokens) != 1440 {
		t.Fatalf("history of %d/%d/%d points, want 1440 each", len(h.RequestRate), len(h.InputTokens), len(h.OutputTokens))
	}
	// The day before: index i is -24h + i min; the trough (05:00) is at i = 300, the peak at 1020.
	trough, peak := mean(h.RequestRate[290:310]), mean(h.RequestRate[1010:1030])
	if math.Abs(trough-10) > 1.5 || math.Abs(peak-30) > 2 {
		t.Errorf("history trough %.1f/s and peak %.1f/s, want about 10 and 30", trough, peak)
	}

	win := 600 * time.Second
	sg := &workload.ServeGen{Window: win, Clients: []workload.Client{{ID: "0", Windows: []workload.Window{
		{Start: 0, Rate: 4, Pattern: "Gamma", Shape: 1, Scale: 0.25},
		{Start: win, Rate: 0},
		{Start: 2 * win, Rate: 6, Pattern: "Gamma", Shape: 1, Scale: 1.0 / 6},
	}}}}
	sh := ServeGenHistory(sg, 2*win, 2*win, 5*time.Minute, 0.5, wl)
	want := []float64{2, 2, math.NaN(), math.NaN()}
	if diff := cmp.Diff(want, sh.RequestRate, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("ServeGen history (-want +got):\n%s", diff)
	}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
