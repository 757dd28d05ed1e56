package sim

import (
	"math"
	"testing"
)

// TestPrefillSaturatesAtProfileThroughput: one prefill engine fed far more ISL-3000 requests than it
// can serve must process them within 15% of the profile's throughput at ISL 3000 (issue 5).
func TestPrefillSaturatesAtProfileThroughput(t *testing.T) {
	d := testDeployment(t, 1, 1)
	const isl, n = 3000, 3000
	wl := steady(n, 0, isl, 1) // all at t=0; one output token, so each finishes at its first token
	res, err := Run(d, wl, &fixed{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := float64(n*isl) / res.Simulated.Seconds()
	want := d.Model.PrefillThroughput(isl) * float64(d.Model.GPUsPerEngine())
	if rel := math.Abs(got-want) / want; rel > 0.15 {
		t.Errorf("saturated prefill throughput %.0f tokens/s, profile %.0f at ISL %d: off by %.1f%% (> 15%%)", got, want, isl, 100*rel)
	}
	t.Logf("saturated prefill: %.0f tokens/s simulated, %.0f profiled", got, want)
	if res.Requests != n || res.Rejected != 0 {
		t.Errorf("served %d requests, want %d", res.Requests, n)
	}
}

// TestDecodeITLMatchesProfile: a decode batch run by the engine at one of the profile's measured
// points (context length and KV usage) runs at the profile's ITL there within 10%, and at contexts
// between the measured rows at the equal-batch reading computed by hand from the two rows around
// it (issue 10).
func TestDecodeITLMatchesProfile(t *testing.T) {
	p := sharedProfile(t)
	d := testDeployment(t, 1, 1)
	tests := []struct {
		name           string
		ctx, kv, itlMs float64 // a measured point of decode_raw_data.json, or a hand-computed one
		batch          int     // 0: the measured point's, kv x capacity / ctx
	}{
		{"measured ctx 2997 kv 0.31", 2997, 0.3076191312647548, 15.479184278350514, 0},
		{"measured ctx 5644 kv 0.63", 5644, 0.6270918670220702, 24.904545161904764, 0},
		{"measured ctx 8291 kv 0.16", 8291, 0.16669223907414482, 11.729051894736841, 0},
		{"measured ctx 350 kv 0.19", 350, 0.19, 31.07, 525},
		// (350 row at 100: 4.38 + 99/262 x 14.73 = 9.95; 2997 row: 15.48 + 3/48 x 6.65 = 15.90)
		{"between 350 and 2997, batch 100", 1673.5, 0, (9.946 + 15.896) / 2, 100},
		// (2997 row at 60: 9.94 + 11/48 x 5.54 = 11.21; 5644 row: 15.12 + 7/26 x 4.55 = 16.34)
		{"a quarter from 2997 to 5644, batch 60", 3658.75, 0, 0.75*11.21 + 0.25*16.34, 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batch := tt.batch
			if batch == 0 {
				batch = int(math.Round(tt.kv * p.Decode.MaxKVTokens() / tt.ctx))
			}
			const out = 201 // context grows by 200 tokens: centre it on the wanted length
			in := int(tt.ctx) - out/2
			got := decodeBatchITL(t, d, batch, in, out)
			t.Logf("batch %d: ITL %.2f ms simulated, %.2f ms wanted", batch, got*1000, tt.itlMs)
			if rel := math.Abs(got*1000-tt.itlMs) / tt.itlMs; rel > 0.10 {
				t.Errorf("batch %d at context %v: ITL %.2f ms, want %.2f ms: off by %.1f%% (> 10%%)",
					batch, tt.ctx, got*1000, tt.itlMs, 100*rel)
			}
		})
	}
}

// decodeBatchITL starts batch requests together on one decode engine and returns their mean ITL.
func decodeBatchITL(t *testing.T, d Deployment, batch, in, out int) float64 {
	t.Helper()
	w, err := newWorld(d, steady(batch, 0, in, out), &fixed{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := w.svcs[w.dec].engines[0]
	e := w.engines[id]
	for i := range batch {
		w.first[i] = 0
		w.queueDepth++
		w.infl++
		e.waiting = append(e.waiting, int32(i))
		e.waitTok += float64(in + out)
	}
	w.admitAndReschedule(id, e)
	if e.active.len() != batch {
		t.Fatalf("admitted %d of %d requests", e.active.len(), batch)
	}
	for w.ev.len() > 0 {
		ev := w.ev.pop()
		w.t = ev.t
		w.handle(ev)
	}
	return w.t / float64(out-1)
}
