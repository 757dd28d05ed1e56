package planner

import (
	"testing"
	"time"

	"github.com/tidal-planner/tidal/planner/model"
)

// TestGuardStopsWhenLatencyIgnoresReplicas drives the decode ITL guard twice: a breach at two ready
// replicas makes it scale up; the second decision, after `gap`, sees `ready` replicas, an ITL
// percentile and a request rate. The guard must keep asking while more replicas help or the load
// or the latency moved, and stop (latency-unresponsive) when more replicas served the same load at
// the same latency.
func TestGuardStopsWhenLatencyIgnoresReplicas(t *testing.T) {
	const rate, itl = 20.0, 0.030 // the first decision: 20 req/s, ITL p90 30 ms over a 20 ms target
	tests := []struct {
		name       string
		gap        time.Duration
		ready      int32
		itl, rate  float64
		wantBreach bool // itl-breach (asks) rather than latency-unresponsive (holds)
	}{
		{"more replicas, same load, same ITL: unresponsive", time.Minute, 3, itl, rate, false},
		{"more replicas, ITL 3% lower: still unresponsive", time.Minute, 3, itl * 0.97, rate, false},
		{"more replicas, ITL 20% lower: it helped, ask again", time.Minute, 3, itl * 0.8, rate, true},
		{"replicas not ready yet: ask again", time.Minute, 2, itl, rate, true},
		{"load grew 20%: re-armed", time.Minute, 3, itl, rate * 1.2, true},
		{"ITL 20% worse: re-armed", time.Minute, 3, itl * 1.2, rate, true},
		{"mark older than its life: re-armed", 2 * time.Hour, 3, itl, rate, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPolicy(t, disaggYAML)
			st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0)})
			obs := steady(t0, rate, reps(1, 1, 2))
			obs.ITLPercentile = Known(itl)
			d := Plan(t0, obs, p, &st)
			if sd, _ := d.Service("Decode"); !hasCode(sd, CodeITLBreach) || sd.Desired <= 2 {
				t.Fatalf("first decision: want an itl-breach scale-up from 2, got %d:\n%s", sd.Desired, reasonLines(sd))
			}
			now := t0.Add(tc.gap)
			obs = steady(now, tc.rate, reps(1, 1, tc.ready))
			obs.ITLPercentile = Known(tc.itl)
			d = Plan(now, obs, p, &st)
			sd, _ := d.Service("Decode")
			if got := hasCode(sd, CodeITLBreach); got != tc.wantBreach {
				t.Errorf("itl-breach = %v, want %v:\n%s", got, tc.wantBreach, reasonLines(sd))
			}
			if got := hasCode(sd, CodeUnresponsive); got == tc.wantBreach {
				t.Errorf("latency-unresponsive = %v, want %v:\n%s", got, !tc.wantBreach, reasonLines(sd))
			}
		})
	}
}

// TestUnresponsiveITLKeepsTheTTFTGuard: in an aggregated worker each latency has its own mark, so
// an ITL that more workers did not lower silences the ITL guard only; a TTFT breach the next
// decision sees still asks.
func TestUnresponsiveITLKeepsTheTTFTGuard(t *testing.T) {
	p := mustPolicy(t, aggYAML("60s", "2m"))
	st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0)})
	obs := steady(t0, 10, map[string]int32{"Worker": 2})
	obs.ITLPercentile, obs.TTFTPercentile = Known(0.045), Known(1.0)
	d := Plan(t0, obs, p, &st)
	if sd, _ := d.Service("Worker"); !hasCode(sd, CodeITLBreach) {
		t.Fatalf("first decision: want an itl-breach:\n%s", reasonLines(sd))
	}
	now := t0.Add(time.Minute)
	obs = steady(now, 10, map[string]int32{"Worker": 3})
	obs.ITLPercentile, obs.TTFTPercentile = Known(0.045), Known(1.0)
	d = Plan(now, obs, p, &st)
	sd, _ := d.Service("Worker")
	if !hasCode(sd, CodeUnresponsive) || !hasCode(sd, CodeTTFTBreach) || hasCode(sd, CodeITLBreach) {
		t.Errorf("second decision: want latency-unresponsive and ttft-breach, no itl-breach:\n%s", reasonLines(sd))
	}
}

// TestGuardTrustsTheLatencyFit primes the decode service's online ITL fit (ITL percentile against
// output tokens/s per replica; 30 samples over 1,000-3,000, with +/-0.5 ms of noise) and makes one
// decision at 2 ready replicas, 20 req/s x 200 tokens (2,000 tokens/s per replica), with the ITL
// percentile over its 20 ms target. A fit that explains the reading (within three robust standard
// deviations of its line) and predicts under 5% less latency at the ask stops the guard; a steep
// fit, a reading far above a flat fit (a batch past its knee, which the robust fit treats as an
// outlier), or too few samples for a fit leave the guard asking.
func TestGuardTrustsTheLatencyFit(t *testing.T) {
	flat := func(x float64) float64 { return 0.030 }
	tests := []struct {
		name       string
		samples    int
		line       func(x float64) float64 // the ITL percentile at x output tokens/s per replica
		itl        float64                 // the reading now
		wantBreach bool
	}{
		{"flat fit that explains the reading: unresponsive", 30, flat, 0.030, false},
		{"steep fit: more replicas help, ask", 30, func(x float64) float64 { return 0.015 * x / 1000 }, 0.030, true},
		{"reading far above a flat fit (past the knee): ask", 30, flat, 0.120, true},
		{"too few samples for a fit: ask", 5, flat, 0.030, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPolicy(t, disaggYAML)
			st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0)})
			var fit *model.Learned
			for i := range st.services {
				if st.services[i].name == "Decode" {
					fit = &st.services[i].itl
				}
			}
			if fit == nil {
				t.Fatal("no Decode service state")
			}
			for i := range tc.samples {
				x := 1000 + 2000*float64(i)/float64(max(tc.samples-1, 1))
				fit.Observe(x, tc.line(x)+0.0005*float64(i%3-1))
			}
			obs := steady(t0, 20, reps(1, 1, 2))
			obs.ITLPercentile = Known(tc.itl)
			sd, _ := Plan(t0, obs, p, &st).Service("Decode")
			if got := hasCode(sd, CodeITLBreach); got != tc.wantBreach {
				t.Errorf("itl-breach = %v, want %v:\n%s", got, tc.wantBreach, reasonLines(sd))
			}
			if got := hasCode(sd, CodeUnresponsive); got == tc.wantBreach {
				t.Errorf("latency-unresponsive = %v, want %v:\n%s", got, !tc.wantBreach, reasonLines(sd))
			}
		})
	}
}
