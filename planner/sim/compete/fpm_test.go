package compete

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
)

// TestDynamoFPMSizing pins the regression planner on exact linear forward passes:
// prefill wall = 0.01 + 1e-5 x tokens; decode wall = 0.005 + 2e-4 x requests + 1e-7 x KV tokens.
//
//   - prefill at ISL 1,000: wall 0.02 s, 50 requests/s per engine; at ISL 10,000 (chunks of 8,192):
//     wall(8192) + wall(1808) = 0.09192 + 0.02808 = 0.12 s, 8.333 requests/s.
//   - decode at ISL 1,000, OSL 200 (ctx 1,100; KV bound 100,000/1,100 = 90): wall(bs) = 0.005 +
//     3.1e-4 bs <= 25 ms up to bs 64; 64 / (200 x 0.02484) = 12.882 requests/s per engine.
//   - at 60 requests/s (10,800 per 180 s): prefill ceil(60/50) = 2, decode ceil(60/12.882) = 5.
func TestDynamoFPMSizing(t *testing.T) {
	d := handDeployment(t)
	f := NewDynamoFPM(d, handProfile(t), 0, planner.LoadHistory{}, time.Minute)
	f.pre, f.dec = newFPMRegression(1), newFPMRegression(2)
	for i := range 20 {
		tok := float64(500 + 400*i)
		f.ObservePass(sim.ForwardPass{Time: float64(10 * i), PrefillTokens: tok, WallTime: 0.01 + 1e-5*tok})
		bs, kv := float64(1+7*i), float64(3000+(i*37%20)*4000)
		f.ObservePass(sim.ForwardPass{Time: float64(10 * i), DecodeRequests: int(bs), DecodeKVTokens: kv, WallTime: 0.005 + 2e-4*bs + 1e-7*kv})
	}
	for _, tc := range []struct {
		isl, want float64
	}{{1000, 50}, {10000, 1 / 0.12}} {
		if got, ok := f.prefillRPS(tc.isl); !ok || !near(got, tc.want) {
			t.Errorf("prefillRPS(%g) = %g, %v; want %g", tc.isl, got, ok, tc.want)
		}
	}
	if got, ok := f.decodeRPS(1000, 200); !ok || !near(got, 64/(200*0.02484)) {
		t.Errorf("decodeRPS = %g, %v; want %g", got, ok, 64/(200*0.02484))
	}
	got := f.Scale(time.Time{}, obsOf(60, 1000, 200, 0))
	if diff := cmp.Diff(map[string]int32{"P": 2, "D": 5}, got); diff != "" {
		t.Errorf("Scale (-want +got):\n%s", diff)
	}
	if p, q := fpmBudget(12, 3, 1, 2, 8); p != 5 || q != 1 {
		// scale 8/18: floor(12 x 0.444) = 5 (max_p = (8 - 2) / 1 = 6); decode floor((8 - 5) / 2) = 1.
		t.Errorf("fpmBudget(12, 3, 1, 2, 8) = %d, %d; want 5, 1", p, q)
	}
}

// TestFPMStoreKeepsSpread: the store holds at most 64 samples, drops from the fullest bucket, and
// a fit with a negative prefill slope is not ready.
func TestFPMStoreKeepsSpread(t *testing.T) {
	r := newFPMRegression(1)
	r.add([2]float64{10000}, 1) // one sample at the top of the range
	for i := range 200 {
		r.add([2]float64{float64(i % 10)}, 0.01)
	}
	if len(r.samples) != fpmMaxSamples || r.samples[0].x[0] != 10000 {
		t.Errorf("store %d samples, first %v: want %d, the lone top sample kept", len(r.samples), r.samples[0].x, fpmMaxSamples)
	}
	neg := newFPMRegression(1)
	for i := range 10 {
		neg.add([2]float64{float64(i * 100)}, 1-float64(i)*0.01)
	}
	if _, ok := neg.predict([2]float64{100}); ok {
		t.Error("negative slope: want not ready")
	}
}

// TestDynamoFPMLearnsFromTheWorld: the simulated engines' passes reach the regressions.
func TestDynamoFPMLearnsFromTheWorld(t *testing.T) {
	d := deployment(t)
	f := NewDynamoFPM(d, embeddedProfile(t), 0, planner.LoadHistory{}, time.Minute)
	boot := f.dec.seq
	wl := sim.Workload{Name: "steady", Duration: 10 * time.Minute}
	for ms := 0; ms < 10*60*1000; ms += 200 {
		wl.Requests = append(wl.Requests, sim.Request{Arrival: time.Duration(ms) * time.Millisecond, InputTokens: 2000, OutputTokens: 200})
	}
	if _, err := sim.Run(d, wl, f, sim.Options{}); err != nil {
		t.Fatal(err)
	}
	if learned := f.dec.seq - boot; learned < 60 || f.pre.seq < fpmBuckets+60 {
		t.Errorf("decode passes learned %d, prefill samples %d: want one per 5 s tick over 10 minutes", learned, f.pre.seq)
	}
}
