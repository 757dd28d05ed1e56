package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Profile is one profiled engine configuration: its prefill curve, decode surface and metadata.
// It is immutable and safe for concurrent use.
type Profile struct {
	// Source names where the profile was read from (file paths, and the config index if any).
	Source  string
	Config  Config
	Prefill Prefill
	Decode  Decode
}

// Config is the engine configuration a profile was measured with. Fields the source does not
// record are zero, except GPUs, which is always set (from metadata, else from the prefill data).
type Config struct {
	GPUType          string
	Model            string
	Framework        string
	FrameworkVersion string
	TP, DP, PP       int
	// GPUs is how many GPUs one profiled engine used (tp x dp x pp when recorded, else
	// ThroughputGPUs).
	GPUs int
	// ThroughputGPUs is the number the profile divided an engine's throughput by to get its
	// "per GPU" figures, derived from TTFT = ISL / (throughput x ThroughputGPUs): one engine
	// serves throughput x ThroughputGPUs tokens/s.
	ThroughputGPUs int
}

// Layout file names, as the Dynamo profiler and planner use them.
const (
	jsonPrefill     = "prefill_raw_data.json"
	jsonDecode      = "decode_raw_data.json"
	selectedPrefill = "selected_prefill_interpolation/raw_data.npz"
	selectedDecode  = "selected_decode_interpolation/raw_data.npz"
	sweptPrefill    = "prefill.npz"
	sweptDecode     = "decode.npz"
)

// Load reads a Dynamo profile directory in any of the three layouts (see the package doc), trying
// JSON first, then the selected_*_interpolation .npz files, then the pre-swept prefill.npz and
// decode.npz. It returns one Profile per configuration (pre-swept files may hold several).
func Load(dir string) ([]Profile, error) {
	for _, pair := range [][2]string{
		{jsonPrefill, jsonDecode}, {selectedPrefill, selectedDecode}, {sweptPrefill, sweptDecode},
	} {
		pre, err := os.ReadFile(filepath.Join(dir, pair[0]))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("loading profile %s: %w", dir, err)
		}
		dec, err := os.ReadFile(filepath.Join(dir, pair[1]))
		if err != nil {
			return nil, fmt.Errorf("loading profile %s: %s present but %w", dir, pair[0], err)
		}
		src := filepath.Join(dir, pair[0]) + "+" + pair[1]
		var ps []Profile
		if pair[0] == jsonPrefill {
			ps, err = ParseJSON(pre, dec)
		} else {
			ps, err = ParseNPZPair(pre, dec)
		}
		if err != nil {
			return nil, fmt.Errorf("loading profile %s: %w", src, err)
		}
		for i := range ps {
			ps[i].Source = src
			if len(ps) > 1 {
				ps[i].Source = fmt.Sprintf("%s[%d]", src, i)
			}
		}
		return ps, nil
	}
	return nil, fmt.Errorf("loading profile %s: no %s, %s or %s found", dir, jsonPrefill, selectedPrefill, sweptPrefill)
}

// Match returns the profile whose engine uses the given number of GPUs, or, if gpus is 0 or none
// matches exactly, an error listing what is available. With a single profile and gpus 0 it
// returns that profile.
func Match(ps []Profile, gpus int) (Profile, error) {
	if len(ps) == 1 && gpus == 0 {
		return ps[0], nil
	}
	have := make([]int, 0, len(ps))
	for _, p := range ps {
		if p.Config.GPUs == gpus {
			return p, nil
		}
		have = append(have, p.Config.GPUs)
	}
	return Profile{}, fmt.Errorf("no profile for %d GPUs per engine (have %v)", gpus, have)
}

type jsonPrefillDoc struct {
	ISL  []float64 `json:"prefill_isl"`
	TTFT []float64 `json:"prefill_ttft"`
	Thpt []float64 `json:"prefill_thpt_per_gpu"`
}

type jsonDecodeDoc struct {
	KV          []float64 `json:"x_kv_usage"`
	Ctx         []float64 `json:"y_context_length"`
	ITL         []float64 `json:"z_itl"`
	Thpt        []float64 `json:"z_thpt_per_gpu"`
	MaxKVTokens *float64  `json:"max_kv_tokens"`
}

// ParseJSON decodes the planner's JSON profile (prefill_raw_data.json, decode_raw_data.json).
// Unknown fields are errors; so are missing ones.
func ParseJSON(prefill, decode []byte) ([]Profile, error) {
	var pd jsonPrefillDoc
	if err := strictJSON(prefill, &pd); err != nil {
		return nil, fmt.Errorf("%s: %w", jsonPrefill, err)
	}
	var dd jsonDecodeDoc
	if err := strictJSON(decode, &dd); err != nil {
		return nil, fmt.Errorf("%s: %w", jsonDecode, err)
	}
	if dd.MaxKVTokens == nil {
		return nil, fmt.Errorf("%s: max_kv_tokens is missing", jsonDecode)
	}
	p, err := build(pd.ISL, pd.TTFT, pd.Thpt, dd.KV, dd.Ctx, dd.ITL, dd.Thpt, *dd.MaxKVTokens)
	if err != nil {
		return nil, err
	}
	return []Profile{p}, nil
}

func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	if d.More() {
		return errors.New("decoding: trailing data after the JSON object")
	}
	return nil
}

func build(isl, ttft, pthpt, kv, ctx, itl, dthpt []float64, maxKV float64) (Profile, error) {
	pre, err := NewPrefill(isl, ttft, pthpt)
	if err != nil {
		return Profile{}, fmt.Errorf("prefill: %w", err)
	}
	dec, err := NewDecode(kv, ctx, itl, dthpt, maxKV)
	if err != nil {
		return Profile{}, fmt.Errorf("decode: %w", err)
	}
	return Profile{Prefill: pre, Decode: dec, Config: Config{GPUs: pre.EngineGPUs(), ThroughputGPUs: pre.EngineGPUs()}}, nil
}
