package profile

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Prefill is the prefill curve of one engine: for each measured input length, the time to first
// token of a lone request and the throughput per GPU. It is immutable.
type Prefill struct {
	isl  []float64 // tokens, strictly increasing
	ttft []float64 // seconds, made non-decreasing (upper envelope)
	thpt []float64 // tokens/s per GPU
	// repaired counts TTFT points raised to the running maximum.
	repaired   int
	engineGPUs int
}

// NewPrefill validates one prefill curve: ISL in tokens (strictly increasing, > 0), TTFT in
// milliseconds (> 0) and throughput in tokens/s per GPU (> 0), all the same length and finite.
//
// A TTFT that falls while the input grows is measurement noise (a longer prompt cannot prefill
// faster); it is raised to the largest TTFT at a shorter input, which only ever overstates latency.
// Repaired reports how many points were raised.
func NewPrefill(islTokens, ttftMs, thptPerGPU []float64) (Prefill, error) {
	if err := sameLengths(map[string][]float64{
		"prefill_isl": islTokens, "prefill_ttft": ttftMs, "prefill_thpt_per_gpu": thptPerGPU,
	}); err != nil {
		return Prefill{}, err
	}
	for i := range islTokens {
		if err := positive("prefill_isl", i, islTokens[i]); err != nil {
			return Prefill{}, err
		}
		if err := positive("prefill_ttft", i, ttftMs[i]); err != nil {
			return Prefill{}, err
		}
		if err := positive("prefill_thpt_per_gpu", i, thptPerGPU[i]); err != nil {
			return Prefill{}, err
		}
		if i > 0 && islTokens[i] <= islTokens[i-1] {
			return Prefill{}, fmt.Errorf("prefill_isl must be strictly increasing: [%d]=%g after [%d]=%g",
				i, islTokens[i], i-1, islTokens[i-1])
		}
	}
	p := Prefill{isl: slices.Clone(islTokens), ttft: make([]float64, len(ttftMs)), thpt: slices.Clone(thptPerGPU)}
	p.engineGPUs = engineGPUs(islTokens, ttftMs, thptPerGPU)
	for i, v := range ttftMs {
		s := v / 1000
		if i > 0 && s < p.ttft[i-1] {
			s = p.ttft[i-1]
			p.repaired++
		}
		p.ttft[i] = s
	}
	return p, nil
}

// Repaired is the number of TTFT points raised to keep TTFT non-decreasing in input length.
func (p Prefill) Repaired() int { return p.repaired }

// ISLRange returns the smallest and largest measured input lengths.
func (p Prefill) ISLRange() (lo, hi float64) { return p.isl[0], p.isl[len(p.isl)-1] }

// TTFT returns the lone-request time to first token, in seconds, at an input length, linearly
// interpolated and clamped to the measured range.
func (p Prefill) TTFT(isl float64) float64 { return interp(p.isl, p.ttft, isl) }

// Throughput returns the prefill tokens/s per GPU at an input length, interpolated and clamped.
func (p Prefill) Throughput(isl float64) float64 { return interp(p.isl, p.thpt, isl) }

// EngineGPUs is how many GPUs one profiled engine used, estimated from the raw points.
func (p Prefill) EngineGPUs() int { return p.engineGPUs }

// engineGPUs estimates GPUs per engine from TTFT = ISL / (throughput x GPUs) (the profiler
// measures one request at a time), as the median over the points, rounded, at least 1.
func engineGPUs(isl, ttftMs, thpt []float64) int {
	r := make([]float64, len(isl))
	for i := range isl {
		r[i] = isl[i] / (thpt[i] * ttftMs[i] / 1000)
	}
	slices.Sort(r)
	return max(int(math.Round(r[len(r)/2])), 1)
}

// Decode is the decode surface of one engine: inter-token latency and throughput per GPU measured
// at scattered (KV-cache usage, context length) points, grouped by context length. It is immutable.
type Decode struct {
	rows        []decodeRow // by increasing context length
	maxKVTokens float64
	repaired    int
}

// decodeRow holds the points measured at one context length, by increasing KV usage.
type decodeRow struct {
	ctx  float64
	kv   []float64
	itl  []float64 // seconds, made non-decreasing in kv (upper envelope)
	raw  []float64 // seconds, as measured
	thpt []float64
}

// NewDecode validates the decode points: KV usage in [0, 1], context length in tokens (> 0), ITL in
// milliseconds (> 0), throughput in tokens/s per GPU (>= 0), all the same length and finite, and
// the engine's KV capacity in tokens (> 0). Points sharing a context length form one row; two
// points at the same (KV usage, context length) are an error. Within a row an ITL that falls as KV
// usage grows is raised to the running maximum (see Repaired), which only overstates latency.
func NewDecode(kvUsage, ctxLen, itlMs, thptPerGPU []float64, maxKVTokens float64) (Decode, error) {
	if err := sameLengths(map[string][]float64{
		"x_kv_usage": kvUsage, "y_context_length": ctxLen, "z_itl": itlMs, "z_thpt_per_gpu": thptPerGPU,
	}); err != nil {
		return Decode{}, err
	}
	if err := positive("max_kv_tokens", 0, maxKVTokens); err != nil {
		return Decode{}, err
	}
	idx := make([]int, len(kvUsage))
	for i := range idx {
		idx[i] = i
		if err := checkDecodePoint(i, kvUsage[i], ctxLen[i], itlMs[i], thptPerGPU[i]); err != nil {
			return Decode{}, err
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(ctxLen[a], ctxLen[b]), cmp.Compare(kvUsage[a], kvUsage[b]))
	})
	d := Decode{maxKVTokens: maxKVTokens}
	for k, i := range idx {
		if k > 0 && ctxLen[i] == ctxLen[idx[k-1]] && kvUsage[i] == kvUsage[idx[k-1]] {
			return Decode{}, fmt.Errorf("decode points %d and %d share kv usage %g and context length %g",
				idx[k-1], i, kvUsage[i], ctxLen[i])
		}
		if len(d.rows) == 0 || d.rows[len(d.rows)-1].ctx != ctxLen[i] {
			d.rows = append(d.rows, decodeRow{ctx: ctxLen[i]})
		}
		r := &d.rows[len(d.rows)-1]
		s := itlMs[i] / 1000
		if n := len(r.itl); n > 0 && s < r.itl[n-1] {
			s = r.itl[n-1]
			d.repaired++
		}
		r.kv, r.itl, r.thpt = append(r.kv, kvUsage[i]), append(r.itl, s), append(r.thpt, thptPerGPU[i])
		r.raw = append(r.raw, itlMs[i]/1000)
	}
	return d, nil
}

func checkDecodePoint(i int, kv, ctx, itl, thpt float64) error {
	if !finite(kv) || kv < 0 || kv > 1 {
		return fmt.Errorf("x_kv_usage[%d]=%g outside [0, 1]", i, kv)
	}
	if err := positive("y_context_length", i, ctx); err != nil {
		return err
	}
	if err := positive("z_itl", i, itl); err != nil {
		return err
	}
	if !finite(thpt) || thpt < 0 {
		return fmt.Errorf("z_thpt_per_gpu[%d]=%g is negative or not finite", i, thpt)
	}
	return nil
}

// MaxKVTokens is the engine's KV-cache capacity in tokens.
func (d Decode) MaxKVTokens() float64 { return d.maxKVTokens }

// Repaired is the number of ITL points raised to keep ITL non-decreasing in KV usage.
func (d Decode) Repaired() int { return d.repaired }

// DecodePoint is one measured decode point, as the profile recorded it (no repair).
type DecodePoint struct {
	KVUsage       float64 // 0..1
	ContextLength float64 // tokens
	ITL           float64 // seconds
	Throughput    float64 // tokens/s per GPU
}

// Points returns the measured decode points by increasing context length, then KV usage, with
// their ITL as measured (before the upper-envelope repair ITL applies). The slice is a copy.
func (d Decode) Points() []DecodePoint {
	var out []DecodePoint
	for _, r := range d.rows {
		for i := range r.kv {
			out = append(out, DecodePoint{KVUsage: r.kv[i], ContextLength: r.ctx, ITL: r.raw[i], Throughput: r.thpt[i]})
		}
	}
	return out
}

// ITL returns the inter-token latency in seconds at a KV usage and context length: linear in KV
// usage within the two measured context lengths around ctx, then linear between them; clamped to
// the measured ranges on both axes.
func (d Decode) ITL(kv, ctx float64) float64 {
	return d.blend(ctx, func(r decodeRow) float64 { return interp(r.kv, r.itl, kv) })
}

// Throughput returns decode tokens/s per GPU at a KV usage and context length (as ITL).
func (d Decode) Throughput(kv, ctx float64) float64 {
	return d.blend(ctx, func(r decodeRow) float64 { return interp(r.kv, r.thpt, kv) })
}

// MaxKVUsage returns the largest KV usage measured around a context length (blended like ITL):
// the capacity search never goes past what was measured.
func (d Decode) MaxKVUsage(ctx float64) float64 {
	return d.blend(ctx, func(r decodeRow) float64 { return r.kv[len(r.kv)-1] })
}

// MinKVUsage returns the smallest KV usage measured around a context length.
func (d Decode) MinKVUsage(ctx float64) float64 {
	return d.blend(ctx, func(r decodeRow) float64 { return r.kv[0] })
}

// KVUsageAt returns the largest KV usage, within the measured range, at which ITL stays <= target
// seconds at a context length, and false when even the lowest measured usage exceeds the target.
func (d Decode) KVUsageAt(itlTarget, ctx float64) (float64, bool) {
	lo, hi := d.MinKVUsage(ctx), d.MaxKVUsage(ctx)
	if d.ITL(lo, ctx) > itlTarget {
		return 0, false
	}
	if d.ITL(hi, ctx) <= itlTarget {
		return hi, true
	}
	// ITL is non-decreasing in kv (each row is, and blending preserves it): bisect.
	for range 50 {
		mid := (lo + hi) / 2
		if d.ITL(mid, ctx) <= itlTarget {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, true
}

// blend evaluates f on the rows bracketing ctx and interpolates linearly in context length.
func (d Decode) blend(ctx float64, f func(decodeRow) float64) float64 {
	n := len(d.rows)
	j := sort.Search(n, func(i int) bool { return d.rows[i].ctx >= ctx })
	switch {
	case j == 0:
		return f(d.rows[0])
	case j == n:
		return f(d.rows[n-1])
	}
	a, b := d.rows[j-1], d.rows[j]
	t := (ctx - a.ctx) / (b.ctx - a.ctx)
	return f(a)*(1-t) + f(b)*t
}

// interp is piecewise-linear interpolation of ys over strictly increasing xs, clamped at the ends.
func interp(xs, ys []float64, x float64) float64 {
	n := len(xs)
	if x <= xs[0] || n == 1 {
		return ys[0]
	}
	if x >= xs[n-1] {
		return ys[n-1]
	}
	j := sort.SearchFloat64s(xs, x)
	if xs[j] == x {
		return ys[j]
	}
	t := (x - xs[j-1]) / (xs[j] - xs[j-1])
	return ys[j-1]*(1-t) + ys[j]*t
}

func sameLengths(arrays map[string][]float64) error {
	names := make([]string, 0, len(arrays))
	for k := range arrays {
		names = append(names, k)
	}
	slices.Sort(names)
	n := len(arrays[names[0]])
	if n == 0 {
		return fmt.Errorf("%s is empty", names[0])
	}
	var errs []error
	for _, k := range names[1:] {
		if len(arrays[k]) != n {
			errs = append(errs, fmt.Errorf("%s has %d values, %s has %d", k, len(arrays[k]), names[0], n))
		}
	}
	return errors.Join(errs...)
}

func positive(name string, i int, v float64) error {
	if !finite(v) || v <= 0 {
		return fmt.Errorf("%s[%d]=%g must be a finite number > 0", name, i, v)
	}
	return nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
