package profile

import (
	"fmt"
	"slices"
)

// Array names in the profiler's .npz files.
var (
	prefillKeys = []string{"prefill_isl", "prefill_ttft", "prefill_thpt_per_gpu"}
	decodeKeys  = []string{"x_kv_usage", "y_context_length", "z_itl", "z_thpt_per_gpu", "max_kv_tokens"}
)

// ParseNPZPair decodes a prefill and a decode .npz. 1-D arrays (selected_*_interpolation) give one
// profile; 2-D arrays (pre_swept_results) give one profile per row of the leading config axis, with
// the metadata arrays (tp, dp, pp, gpu_type, model, framework, framework_version) when present.
func ParseNPZPair(prefill, decode []byte) ([]Profile, error) {
	pa, err := ParseNPZ(prefill)
	if err != nil {
		return nil, fmt.Errorf("prefill: %w", err)
	}
	da, err := ParseNPZ(decode)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	pr, err := rowsOf(pa, prefillKeys)
	if err != nil {
		return nil, fmt.Errorf("prefill: %w", err)
	}
	dr, err := rowsOf(da, decodeKeys)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if len(pr) != len(dr) {
		return nil, fmt.Errorf("prefill has %d configs, decode has %d", len(pr), len(dr))
	}
	out := make([]Profile, len(pr))
	for i := range pr {
		p, d := pr[i], dr[i]
		if len(d["max_kv_tokens"]) != 1 {
			return nil, fmt.Errorf("config %d: max_kv_tokens has %d values, want 1", i, len(d["max_kv_tokens"]))
		}
		out[i], err = build(p["prefill_isl"], p["prefill_ttft"], p["prefill_thpt_per_gpu"],
			d["x_kv_usage"], d["y_context_length"], d["z_itl"], d["z_thpt_per_gpu"], d["max_kv_tokens"][0])
		if err != nil {
			return nil, fmt.Errorf("config %d: %w", i, err)
		}
		if err := applyMetadata(&out[i].Config, pa, i); err != nil {
			return nil, fmt.Errorf("config %d: %w", i, err)
		}
	}
	return out, nil
}

// rowsOf splits the named numeric arrays into per-config rows: a 1-D array is one row, a 2-D
// array of shape (k, n) is k rows. All named arrays must exist, be numeric and agree on k.
func rowsOf(arrays map[string]Array, keys []string) ([]map[string][]float64, error) {
	k := -1
	var rows []map[string][]float64
	for _, key := range keys {
		a, ok := arrays[key]
		if !ok {
			return nil, fmt.Errorf("array %s is missing (have %v)", key, names(arrays))
		}
		if a.Numbers == nil {
			return nil, fmt.Errorf("array %s is not numeric", key)
		}
		var nrows, width int
		switch len(a.Shape) {
		case 1:
			nrows, width = 1, a.Shape[0]
		case 2:
			nrows, width = a.Shape[0], a.Shape[1]
		default:
			return nil, fmt.Errorf("array %s has shape %v, want 1-D or 2-D", key, a.Shape)
		}
		if k == -1 {
			k = nrows
			rows = make([]map[string][]float64, k)
			for i := range rows {
				rows[i] = map[string][]float64{}
			}
		} else if nrows != k {
			return nil, fmt.Errorf("array %s has %d configs, %s has %d", key, nrows, keys[0], k)
		}
		for i := range k {
			rows[i][key] = a.Numbers[i*width : (i+1)*width]
		}
	}
	return rows, nil
}

// applyMetadata copies the pre-swept metadata of config i. With tp recorded, the engine's GPU count
// is tp x dp x pp; the divisor behind the per-GPU throughputs stays as derived from the data
// (ThroughputGPUs), because the pre-swept files do not use one convention: the 70B H100 file
// divides every config's throughput by 8 whatever its tp, the 8B H200 file by 1.
func applyMetadata(c *Config, arrays map[string]Array, i int) error {
	str := func(key string) string {
		if a, ok := arrays[key]; ok && len(a.Strings) > i && len(a.Shape) == 2 && a.Shape[1] == 1 {
			return a.Strings[i]
		}
		return ""
	}
	num := func(key string) int {
		if a, ok := arrays[key]; ok && len(a.Numbers) > i && len(a.Shape) == 2 && a.Shape[1] == 1 {
			return int(a.Numbers[i])
		}
		return 0
	}
	c.GPUType, c.Model, c.Framework, c.FrameworkVersion = str("gpu_type"), str("model"), str("framework"), str("framework_version")
	c.TP, c.DP, c.PP = num("tp"), num("dp"), num("pp")
	if c.TP < 0 || c.DP < 0 || c.PP < 0 {
		return fmt.Errorf("negative parallelism tp=%d dp=%d pp=%d", c.TP, c.DP, c.PP)
	}
	if c.TP > 0 {
		c.GPUs = c.TP * max(c.DP, 1) * max(c.PP, 1)
	}
	return nil
}

func names(arrays map[string]Array) []string {
	out := make([]string, 0, len(arrays))
	for k := range arrays {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
