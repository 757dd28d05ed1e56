package profile

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadLayouts loads the embedded H200 8B profile in each layout Load reads: the planner's JSON,
// and the profiler's .npz layouts generated from it (selected_*_interpolation with 1-D arrays;
// pre_swept_results with a config axis, its tp metadata and throughputs divided by a GPU count).
func TestLoadLayouts(t *testing.T) {
	e := readEmbedded(t)
	tests := []struct {
		name      string
		dir       string
		wantGPUs  []int
		wantMaxKV []float64
		wantTP    []int
		wantThpt  []int
	}{
		{"json", embeddedDir, []int{1}, []float64{945029}, []int{0}, []int{1}},
		{"selected npz", writeSelected(t, e), []int{1}, []float64{945029}, []int{0}, []int{1}},
		{"pre-swept one config", writeSwept(t, e, 1, []sweptConfig{{1, 945029}}), []int{1}, []float64{945029}, []int{1}, []int{1}},
		// Like the 70B H100 pre-swept file: tp 8, 4, 2, every throughput divided by 8.
		{"pre-swept three configs", writeSwept(t, e, 8, []sweptConfig{{8, 224133}, {4, 100000}, {2, 50000}}),
			[]int{8, 4, 2}, []float64{224133, 100000, 50000}, []int{8, 4, 2}, []int{8, 8, 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := Load(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			var gpus, tp, thpt []int
			var kv []float64
			for _, p := range ps {
				gpus, tp = append(gpus, p.Config.GPUs), append(tp, p.Config.TP)
				thpt, kv = append(thpt, p.Config.ThroughputGPUs), append(kv, p.Decode.MaxKVTokens())
			}
			if diff := cmp.Diff(tc.wantMaxKV, kv); diff != "" {
				t.Errorf("max kv tokens (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantGPUs, gpus); diff != "" {
				t.Errorf("GPUs per engine (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantThpt, thpt); diff != "" {
				t.Errorf("throughput divisor (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantTP, tp); diff != "" {
				t.Errorf("tp (-want +got):\n%s", diff)
			}
		})
	}
}

// TestJSONAndNPZAgree checks the .npz encodings of the embedded profile give the JSON's curves: the
// same numbers, and per-GPU throughputs scaled by the divisor a pre-swept file used.
func TestJSONAndNPZAgree(t *testing.T) {
	e := readEmbedded(t)
	tests := []struct {
		name    string
		dir     string
		divisor float64
	}{
		{"selected", writeSelected(t, e), 1},
		{"pre-swept", writeSwept(t, e, 1, []sweptConfig{{1, 945029}}), 1},
		{"pre-swept divided by 8", writeSwept(t, e, 8, []sweptConfig{{8, 945029}}), 8},
	}
	ref, err := Load(embeddedDir)
	if err != nil {
		t.Fatal(err)
	}
	want := sample(ref[0])
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := Load(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			got := sample(ps[0])
			got[1], got[3] = got[1]*tc.divisor, got[3]*tc.divisor
			if !sameWithin(want, got, 1e-12) {
				t.Errorf("TTFT, prefill tokens/s, ITL, decode tokens/s at ISL 3000, ctx 3150:\njson %v\nnpz  %v", want, got)
			}
		})
	}
}

// TestDesignFacts checks DESIGN.md's summary of the H200 profile: about 40k prefill tokens/s/GPU at
// ~80 ms TTFT and ~10k decode tokens/s/GPU at ~10 ms ITL for ISL/OSL 3000/150.
func TestDesignFacts(t *testing.T) {
	ps, err := Load(embeddedDir)
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0]
	if got := p.Prefill.Throughput(3000); got < 35000 || got > 55000 {
		t.Errorf("prefill throughput at ISL 3000 = %g tokens/s/GPU, want ~40k-50k", got)
	}
	if got := p.Prefill.TTFT(3000); got > 0.08 {
		t.Errorf("prefill TTFT at ISL 3000 = %gs, want <= 80ms", got)
	}
	kv, ok := p.Decode.KVUsageAt(0.010, 3075)
	if !ok {
		t.Fatal("10 ms ITL infeasible at context 3075")
	}
	if got := p.Decode.Throughput(kv, 3075); got < 3000 || got > 15000 {
		t.Errorf("decode throughput at 10ms ITL = %g tokens/s/GPU (kv %.3f), want thousands", got, kv)
	}
}

func TestInterpClamps(t *testing.T) {
	xs, ys := []float64{10, 20, 40}, []float64{1, 3, 7}
	tests := []struct {
		name string
		x    float64
		want float64
	}{
		{"below range clamps", 0, 1},
		{"first point", 10, 1},
		{"midpoint", 15, 2},
		{"exact inner point", 20, 3},
		{"between later points", 30, 5},
		{"above range clamps", 1000, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := interp(xs, ys, tc.x); got != tc.want {
				t.Errorf("interp(%g) = %g, want %g", tc.x, got, tc.want)
			}
		})
	}
}

func TestDecodeSurface(t *testing.T) {
	// Two rows: ctx 1000 with ITL 10..20 ms over kv 0.1..0.5, ctx 3000 with 20..40 ms over 0.1..0.9;
	// the 3000 row has a dip at kv 0.5 that the envelope raises.
	d, err := NewDecode(
		[]float64{0.1, 0.5, 0.1, 0.5, 0.9},
		[]float64{1000, 1000, 3000, 3000, 3000},
		[]float64{10, 20, 20, 15, 40},
		[]float64{100, 500, 80, 300, 600}, 1e6)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		kv, ctx float64
		want    float64
	}{
		{"row point", 0.5, 1000, 0.020},
		{"clamped kv above row range", 0.9, 1000, 0.020},
		{"envelope raised dip", 0.5, 3000, 0.020},
		{"blend halfway in ctx", 0.1, 2000, 0.015},
		{"ctx below range clamps", 0.1, 10, 0.010},
		{"ctx above range clamps", 0.9, 1e6, 0.040},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := d.ITL(tc.kv, tc.ctx); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("ITL(%g, %g) = %g, want %g", tc.kv, tc.ctx, got, tc.want)
			}
		})
	}
	if d.Repaired() != 1 {
		t.Errorf("Repaired = %d, want 1", d.Repaired())
	}
	kv, ok := d.KVUsageAt(0.030, 3000)
	if !ok || math.Abs(kv-0.7) > 1e-9 {
		t.Errorf("KVUsageAt(30ms, 3000) = %g, %v; want 0.7, true", kv, ok)
	}
	if _, ok := d.KVUsageAt(0.005, 3000); ok {
		t.Error("KVUsageAt(5ms) should be infeasible")
	}
}

func TestMalformed(t *testing.T) {
	good := `{"prefill_isl": [100, 200], "prefill_ttft": [10, 20], "prefill_thpt_per_gpu": [10000, 10000]}`
	goodDec := `{"x_kv_usage": [0.1, 0.2], "y_context_length": [100, 100], "z_itl": [5, 6], "z_thpt_per_gpu": [1, 2], "max_kv_tokens": 1000}`
	tests := []struct {
		name, prefill, decode, want string
	}{
		{"valid", good, goodDec, ""},
		{"missing key", `{"prefill_isl": [100], "prefill_ttft": [10]}`, goodDec, "prefill_thpt_per_gpu has 0 values"},
		{"unknown key", `{"prefill_isl": [1], "prefill_ttft": [1], "prefill_thpt_per_gpu": [1], "x": 1}`, goodDec, "unknown field"},
		{"length mismatch", `{"prefill_isl": [100, 200], "prefill_ttft": [10], "prefill_thpt_per_gpu": [1, 2]}`, goodDec, "has 1 values"},
		{"unsorted isl", `{"prefill_isl": [200, 100], "prefill_ttft": [10, 20], "prefill_thpt_per_gpu": [1, 2]}`, goodDec, "strictly increasing"},
		{"negative ttft", `{"prefill_isl": [100], "prefill_ttft": [-1], "prefill_thpt_per_gpu": [1]}`, goodDec, "prefill_ttft[0]"},
		{"kv above 1", good, `{"x_kv_usage": [1.5], "y_context_length": [100], "z_itl": [5], "z_thpt_per_gpu": [1], "max_kv_tokens": 1000}`, "outside [0, 1]"},
		{"no max kv", good, `{"x_kv_usage": [0.5], "y_context_length": [100], "z_itl": [5], "z_thpt_per_gpu": [1]}`, "max_kv_tokens is missing"},
		{"duplicate point", good, `{"x_kv_usage": [0.5, 0.5], "y_context_length": [100, 100], "z_itl": [5, 6], "z_thpt_per_gpu": [1, 1], "max_kv_tokens": 10}`, "share kv usage"},
		{"not json", "{", goodDec, "decoding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tc.prefill), []byte(tc.decode))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadMissingDir(t *testing.T) {
	_, err := Load(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no prefill_raw_data.json") {
		t.Fatalf("error = %v, want a clear 'no profile files' error", err)
	}
}

// FuzzParseJSON checks malformed profiles fail cleanly and valid ones answer with finite numbers.
func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"prefill_isl": [100, 200], "prefill_ttft": [10, 20], "prefill_thpt_per_gpu": [10000, 10000]}`),
		[]byte(`{"x_kv_usage": [0.1, 0.2, 0.5], "y_context_length": [100, 100, 900], "z_itl": [5, 4, 6], "z_thpt_per_gpu": [1, 2, 3], "max_kv_tokens": 1000}`))
	f.Fuzz(func(t *testing.T, pre, dec []byte) {
		ps, err := ParseJSON(pre, dec)
		if err != nil {
			return
		}
		for _, p := range ps {
			for _, x := range []float64{-1, 0, 150, 1e9} {
				for _, v := range []float64{p.Prefill.TTFT(x), p.Prefill.Throughput(x), p.Decode.ITL(0.5, x), p.Decode.Throughput(x/1e9, x)} {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("non-finite answer %g at %g", v, x)
					}
				}
				if kv, ok := p.Decode.KVUsageAt(0.01, x); ok && (kv < 0 || kv > 1) {
					t.Fatalf("KVUsageAt = %g outside [0, 1]", kv)
				}
			}
		}
	})
}
