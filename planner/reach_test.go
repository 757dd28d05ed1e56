package planner

import (
	"testing"
	"time"
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
