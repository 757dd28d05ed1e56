package profile

import (
	"archive/zip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// embeddedDir is the H200 Llama-3.1-8B profile embedded in the repository (JSON layout; origin in
// its SOURCE.md). Tests read it, never ../shared, so a fresh clone runs them all.
var embeddedDir = filepath.Join("..", "sim", "scenario", "h200-llama-3.1-8b")

// embedded holds the embedded profile's arrays, keyed by their profiler names.
type embedded struct {
	prefill map[string][]float64 // prefill_isl, prefill_ttft, prefill_thpt_per_gpu
	decode  map[string][]float64 // x_kv_usage, y_context_length, z_itl, z_thpt_per_gpu
	maxKV   float64
}

func readEmbedded(t *testing.T) embedded {
	t.Helper()
	var pre map[string][]float64
	var dec struct {
		KV    []float64 `json:"x_kv_usage"`
		Ctx   []float64 `json:"y_context_length"`
		ITL   []float64 `json:"z_itl"`
		Thpt  []float64 `json:"z_thpt_per_gpu"`
		MaxKV float64   `json:"max_kv_tokens"`
	}
	for name, into := range map[string]any{jsonPrefill: &pre, jsonDecode: &dec} {
		b, err := os.ReadFile(filepath.Join(embeddedDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return embedded{prefill: pre, maxKV: dec.MaxKV, decode: map[string][]float64{
		"x_kv_usage": dec.KV, "y_context_length": dec.Ctx, "z_itl": dec.ITL, "z_thpt_per_gpu": dec.Thpt,
	}}
}

// npyHeader builds the header dict of a C-ordered array of the given dtype and shape.
func npyDict(descr string, shape []int) string {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	s := strings.Join(dims, ", ")
	if len(shape) == 1 {
		s += ","
	}
	return fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, s)
}

// npyF8 encodes float64 values as an .npy array of the given shape.
func npyF8(shape []int, vs []float64) []byte { return npy(npyDict("<f8", shape), f8(vs...)) }

// npyI8 encodes integers as an int64 .npy array of the given shape.
func npyI8(shape []int, vs []int) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return npy(npyDict("<i8", shape), b)
}

// npyU encodes ASCII strings as a UTF-32 "<U<n>" .npy array of the given shape.
func npyU(shape []int, vs []string) []byte {
	n := 1
	for _, v := range vs {
		n = max(n, len(v))
	}
	var b []byte
	for _, v := range vs {
		for i := range n {
			r := uint32(0)
			if i < len(v) {
				r = uint32(v[i])
			}
			b = binary.LittleEndian.AppendUint32(b, r)
		}
	}
	return npy(npyDict(fmt.Sprintf("<U%d", n), shape), b)
}

// writeNPZ writes an .npz archive (deflated, as numpy.savez_compressed does) of the given members.
func writeNPZ(t *testing.T, path string, members map[string][]byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, data := range members {
		w, err := zw.Create(name + ".npy")
		if err == nil {
			_, err = w.Write(data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeSelected writes the embedded profile in the profiler's selected_*_interpolation layout
// (1-D arrays, one config) under a new temporary directory and returns it.
func writeSelected(t *testing.T, e embedded) string {
	t.Helper()
	dir := t.TempDir()
	pre, dec := map[string][]byte{}, map[string][]byte{"max_kv_tokens": npyI8([]int{1}, []int{int(e.maxKV)})}
	for k, v := range e.prefill {
		pre[k] = npyF8([]int{len(v)}, v)
	}
	for k, v := range e.decode {
		dec[k] = npyF8([]int{len(v)}, v)
	}
	writeNPZ(t, filepath.Join(dir, selectedPrefill), pre)
	writeNPZ(t, filepath.Join(dir, selectedDecode), dec)
	return dir
}

// sweptConfig is one row of a generated pre_swept_results file.
type sweptConfig struct {
	tp    int
	maxKV int
}

// writeSwept writes the embedded profile's curves once per config in the pre_swept_results layout
// (2-D arrays with a leading config axis, plus tp/dp/pp/gpu_type metadata of shape (k, 1)). Every
// throughput is divided by divisor, as the pre-swept files divide an engine's throughput by their
// GPU count. It returns the new temporary directory.
func writeSwept(t *testing.T, e embedded, divisor float64, cfgs []sweptConfig) string {
	t.Helper()
	k := len(cfgs)
	rows := func(arrays map[string][]float64, out map[string][]byte) {
		for key, v := range arrays {
			var all []float64
			for range cfgs {
				for _, x := range v {
					if strings.Contains(key, "thpt") {
						x /= divisor
					}
					all = append(all, x)
				}
			}
			out[key] = npyF8([]int{k, len(v)}, all)
		}
	}
	pre, dec := map[string][]byte{}, map[string][]byte{}
	rows(e.prefill, pre)
	rows(e.decode, dec)
	tps, ones, kvs, gpu := make([]int, k), make([]int, k), make([]int, k), make([]string, k)
	for i, c := range cfgs {
		tps[i], ones[i], kvs[i], gpu[i] = c.tp, 1, c.maxKV, "h100_sxm"
	}
	col := []int{k, 1}
	pre["tp"], pre["dp"], pre["pp"], pre["gpu_type"] = npyI8(col, tps), npyI8(col, ones), npyI8(col, ones), npyU(col, gpu)
	dec["max_kv_tokens"] = npyI8(col, kvs)
	dir := t.TempDir()
	writeNPZ(t, filepath.Join(dir, sweptPrefill), pre)
	writeNPZ(t, filepath.Join(dir, sweptDecode), dec)
	return dir
}

// sample evaluates a profile's curves at ISL 3000 and context 3150 (the points the tests compare).
func sample(p Profile) []float64 {
	return []float64{p.Prefill.TTFT(3000), p.Prefill.Throughput(3000),
		p.Decode.ITL(0.5, 3150), p.Decode.Throughput(0.5, 3150)}
}

// sameWithin reports whether a and b agree to a relative tolerance (float division by a divisor
// and back is not exact).
func sameWithin(a, b []float64, rel float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > rel*math.Max(math.Abs(a[i]), math.Abs(b[i])) {
			return false
		}
	}
	return true
}
