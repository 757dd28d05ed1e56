package planner

import (
	"math"
	"testing"
	"time"
)

// planMinutes plans n steady minutes on the concave profile (1 decode replica of 2 GPUs: 1,000,000
// KV tokens; steady() lengths 2,000 in and 200 out, and ITL 10 ms at KV usage 0.3: half the
// profile's 20 ms), minute i changed by mod, and returns Decode's last decision.
func planMinutes(t *testing.T, n int, mod func(i int, o *Observations)) ServiceDecision {
	t.Helper()
	prof := concaveProfile(t)
	p := mustPolicy(t, disaggYAML)
	st := NewState(p, Options{Profile: &prof, NewForecaster: lastValueForecasters(0)})
	var d Decision
	for i := range n {
		now := t0.Add(time.Duration(i) * time.Minute)
		o := at(20, reps(1, 2, 1))(now)
		mod(i, &o)
		d = Plan(now, o, p, &st)
	}
	sd, ok := d.Service("Decode")
	if !ok {
		t.Fatal("no decision for Decode")
	}
	return sd
}

// batch sets the KV usage, the ITL and the sequences in flight of a decode batch whose mean
// context is ctx on the one decode replica (1,000,000 KV tokens).
func batch(o *Observations, kv, itl, ctx float64) {
	o.KVUsage, o.ITL, o.Inflight, o.QueueDepth = Known(kv), Known(itl), Known(kv*1e6/ctx), Known(0)
}

// reasonOf is the decision's first reason with code c, and whether there is one.
func reasonOf(sd ServiceDecision, c Code) (Reason, bool) {
	for _, r := range sd.Reasons {
		if r.Code == c {
			return r, true
		}
	}
	return Reason{}, false
}

// TestDecodeSizedAtTheMeasuredContext: decode is sized at the batch's mean context measured from
// the KV it holds and the sequences in flight (here 2,200 tokens: output lengths that vary keep
// long outputs in the batch longer than input + output / 2 = 2,100 says), once it has the
// readings to say so, and the decision says so.
func TestDecodeSizedAtTheMeasuredContext(t *testing.T) {
	const isl, osl, target = 2000.0, 200.0, 0.02
	tests := []struct {
		name    string
		minutes int
		mod     func(o *Observations)
		ctx     float64 // want sized at this context
	}{
		{"measured: the batch's context", 10, func(o *Observations) { batch(o, 0.3, 0.01, 2200) }, 2200},
		{"too few readings: input + output / 2", 7, func(o *Observations) { batch(o, 0.3, 0.01, 2200) }, 2100},
		{"no in-flight gauge: input + output / 2", 10, func(o *Observations) {
			batch(o, 0.3, 0.01, 2200)
			o.Inflight = Unknown("empty result")
		}, 2100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sd := planMinutes(t, tc.minutes, func(_ int, o *Observations) { tc.mod(o) })
			r, said := reasonOf(sd, CodeDecodeContext)
			if said != (tc.ctx != isl+osl/2) {
				t.Fatalf("decode-context said = %v, want %v; reasons:\n%s", said, tc.ctx != isl+osl/2, reasonLines(sd))
			}
			if said && (math.Abs(r.Value-tc.ctx) > 1e-6 || r.Limit != isl+osl/2) {
				t.Errorf("decode-context %g against %g, want %g against %g", r.Value, r.Limit, tc.ctx, isl+osl/2)
			}
			ki, reach := reasonLimit(t, sd, CodeCalibrated), 0.3
			want, _ := concaveProfile(t).Calibrated(1, ki).WithITLSeen(reach).WithBatchContext(tc.ctx/(isl+osl/2)).Decode(isl, osl, target, 2)
			if got := reasonLimit(t, sd, CodeSized); math.Abs(got-want.TokensPerSecond) > 1e-6*want.TokensPerSecond {
				t.Errorf("decode capacity per replica %.1f tokens/s, want %.1f (sized at a context of %g); reasons:\n%s",
					got, want.TokensPerSecond, tc.ctx, reasonLines(sd))
			}
		})
	}
}
