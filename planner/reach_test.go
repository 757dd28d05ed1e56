package planner

import (
	"math"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/planner/model"
	"github.com/tidal-planner/tidal/planner/profile"
)

// TestITLReachRefuted: an ITL factor below 1 (the steady observations read decode's ITL at 0.67 of
// the synthetic profile's, at KV usage 0.3) is credited past the KV usage it was seen at until the
// service's ITL budget burns while it is; from then decode plans within its reach, and says so.
func TestITLReachRefuted(t *testing.T) {
	fine := func(o *Observations) { o.TTFTAttained, o.ITLAttained = Known(1), Known(1) }
	burn := func(o *Observations) { o.TTFTAttained, o.ITLAttained = Known(1), Known(0.5) }
	slower := func(o *Observations) { o.ITL = Known(0.02) } // 1.33x the profile's at 0.3: a slower engine
	tests := []struct {
		name        string
		second      []func(*Observations)
		engine      func(*Observations)
		wantReached bool
	}{
		{name: "a burn while planning past the reach refutes the extrapolation", second: []func(*Observations){burn}, wantReached: true},
		{name: "no burn keeps the factor's credit", second: []func(*Observations){fine}},
		{name: "a burn with a slower engine has nothing to refute", second: []func(*Observations){burn}, engine: slower},
	}
	capacity := map[string]float64{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mods := func(extra ...func(*Observations)) []func(*Observations) {
				if tc.engine != nil {
					extra = append(extra, tc.engine)
				}
				return extra
			}
			d := runTicks(t, disaggYAML, []tick{
				{0, at(20, reps(1, 2, 1), mods(fine)...)},
				{time.Minute, at(20, reps(1, 2, 1), mods(tc.second...)...)},
				{2 * time.Minute, at(20, reps(1, 2, 1), mods(fine)...)},
			})
			sd, ok := d.Service("Decode")
			if !ok {
				t.Fatal("no decision for Decode")
			}
			if got := hasCode(sd, CodeITLReach); got != tc.wantReached {
				t.Errorf("itl-beyond-reach = %v, want %v; reasons:\n%s", got, tc.wantReached, reasonLines(sd))
			}
			for _, r := range sd.Reasons {
				if r.Code == CodeSized {
					capacity[tc.name] = r.Limit
				}
			}
		})
	}
	refuted, kept := capacity[tests[0].name], capacity[tests[1].name]
	if !(refuted > 0) || !(refuted < kept) {
		t.Errorf("decode capacity per replica %g after the refutation, want above 0 and below the credited %g", refuted, kept)
	}
}

// TestDecodePlansAlongTheLinePastWhatWasSeen: a decode service that reads its engine faster than
// a profile whose curve flattens (10 ms at KV usage 0.1, 20 at 0.3, 30 at 0.5, 40 at 0.9) plans,
// past the KV usage it read that at, along the line through what it saw
// (model.Profile.WithITLSeen), not along the profile's flattening curve.
func TestDecodePlansAlongTheLinePastWhatWasSeen(t *testing.T) {
	prof := concaveProfile(t)
	sd := planMinutes(t, 3, func(int, *Observations) {})
	ki := reasonLimit(t, sd, CodeCalibrated)
	if !(ki > 0 && ki < 1) {
		t.Fatalf("ITL factor %g, want below 1; reasons:\n%s", ki, reasonLines(sd))
	}
	const isl, osl, target = 2000.0, 200.0, 0.02
	alone, _ := prof.Calibrated(1, ki).Decode(isl, osl, target, 2)
	line, _ := prof.Calibrated(1, ki).WithITLSeen(0.3).Decode(isl, osl, target, 2)
	if !(line.TokensPerSecond < 0.8*alone.TokensPerSecond) {
		t.Fatalf("fixture: the line credits %.0f tokens/s, not well below the factor alone's %.0f", line.TokensPerSecond, alone.TokensPerSecond)
	}
	if capacity := reasonLimit(t, sd, CodeSized); math.Abs(capacity-line.TokensPerSecond) > 1e-6*line.TokensPerSecond {
		t.Errorf("decode capacity per replica %.1f tokens/s, want the line's %.1f (the factor alone: %.1f); reasons:\n%s",
			capacity, line.TokensPerSecond, alone.TokensPerSecond, reasonLines(sd))
	}
	if got, want := reasonLimit(t, sd, CodeITLPastSeen), alone.KVUsage; math.Abs(got-want) > 1e-9 {
		t.Errorf("itl-past-seen Limit %g, want the KV usage the factor alone plans at, %g", got, want)
	}
}

// concaveProfile is a profile whose decode curve flattens (10 ms at KV usage 0.1, 20 at 0.3, 30
// at 0.5, 40 at 0.9, at every context), throughputs consistent with it (a batch per ITL).
func concaveProfile(t *testing.T) model.Profile {
	t.Helper()
	pre, err := profile.NewPrefill([]float64{1000, 8000}, []float64{50, 400}, []float64{20000, 20000})
	if err != nil {
		t.Fatal(err)
	}
	var kvs, ctxs, itls, thpts []float64
	for _, ctx := range []float64{1000, 4000} {
		for i, kv := range []float64{0.1, 0.3, 0.5, 0.9} {
			itl := []float64{10, 20, 30, 40}[i]
			kvs, ctxs, itls = append(kvs, kv), append(ctxs, ctx), append(itls, itl)
			thpts = append(thpts, kv*500000/ctx/(itl/1000))
		}
	}
	dec, err := profile.NewDecode(kvs, ctxs, itls, thpts, 500000)
	if err != nil {
		t.Fatal(err)
	}
	return model.FromProfile(profile.Profile{Source: "concave", Prefill: pre, Decode: dec,
		Config: profile.Config{GPUs: 1, ThroughputGPUs: 1}})
}

// reasonLimit is the Limit of the decision's first reason with code c.
func reasonLimit(t *testing.T, sd ServiceDecision, c Code) float64 {
	t.Helper()
	for _, r := range sd.Reasons {
		if r.Code == c {
			return r.Limit
		}
	}
	t.Fatalf("no %s reason; reasons:\n%s", c, reasonLines(sd))
	return 0
}
