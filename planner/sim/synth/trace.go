package synth

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/workload"
)

// TraceOptions scale a replayed request trace.
type TraceOptions struct {
	// RateScale multiplies the load without changing time (1 if 0): the integer part superposes
	// that many copies of the trace, each but the first shifted by its own offset (see
	// MaxShift) and wrapped around the trace's span; the fractional part adds one more shifted
	// copy thinned to that fraction of its requests. A factor below 1 thins the trace itself.
	// The span, the startup times and the control problem stay those of the trace.
	RateScale float64
	// Speedup compresses time (1 if 0): arrival offsets are divided by it, so the rate is
	// multiplied and the span shortened. It changes the control problem (a startup time covers
	// more of the trace), so the workload's name says so.
	Speedup float64
	// Seed draws the copies' offsets and the thinning.
	Seed uint64
}

// MaxShift bounds the offset of a superposed copy: offsets are drawn uniformly in [0, min(span/2,
// MaxShift)), small enough to keep the trace's shape (its peaks and troughs stay where they were)
// and large enough that the copies' bursts do not coincide.
const MaxShift = 5 * time.Minute

// FromTrace turns a per-request trace into a workload scaled by o (see TraceOptions). Requests
// are sorted by arrival (stable: file order breaks ties, the original before its copies);
// negative arrivals are an error.
func FromTrace(name string, reqs []workload.Request, o TraceOptions) (sim.Workload, error) {
	if o.RateScale == 0 {
		o.RateScale = 1
	}
	if o.Speedup == 0 {
		o.Speedup = 1
	}
	for _, v := range []struct {
		flag string
		x    float64
	}{{"rate scale", o.RateScale}, {"speedup", o.Speedup}} {
		if !(v.x > 0) || math.IsInf(v.x, 0) {
			return sim.Workload{}, fmt.Errorf("replaying %s: %s %v is not a positive number", name, v.flag, v.x)
		}
	}
	if len(reqs) == 0 {
		return sim.Workload{}, fmt.Errorf("replaying %s: %w", name, errors.New("the trace has no requests"))
	}
	span := time.Duration(0)
	for i, r := range reqs {
		if r.Arrival < 0 {
			return sim.Workload{}, fmt.Errorf("replaying %s: request %d arrives at %v, before the trace starts", name, i, r.Arrival)
		}
		span = max(span, r.Arrival)
	}
	wl := sim.Workload{Name: traceName(name, o), Requests: superpose(reqs, span, o)}
	if len(wl.Requests) == 0 {
		return sim.Workload{}, fmt.Errorf("replaying %s: rate scale %v thinned every request away", name, o.RateScale)
	}
	slices.SortStableFunc(wl.Requests, func(a, b sim.Request) int { return cmp.Compare(a.Arrival, b.Arrival) })
	wl.Duration = time.Duration(float64(span) / o.Speedup)
	return wl, nil
}

// superpose builds the copies of the trace: copy c keeps each request with probability
// min(RateScale - c, 1), shifted by its offset (0 for the first) modulo the span, then divided
// by the speedup.
func superpose(reqs []workload.Request, span time.Duration, o TraceOptions) []sim.Request {
	r := rand.New(rand.NewPCG(o.Seed, 0x7375_7065))
	copies := int(math.Ceil(o.RateScale))
	out := make([]sim.Request, 0, int(float64(len(reqs))*o.RateScale*1.01)+1)
	maxShift := min(span/2, MaxShift)
	for c := range copies {
		keep := min(o.RateScale-float64(c), 1)
		shift := time.Duration(0)
		if c > 0 && maxShift > 0 {
			shift = time.Duration(r.Int64N(int64(maxShift)))
		}
		for _, q := range reqs {
			if keep < 1 && r.Float64() >= keep {
				continue
			}
			at := q.Arrival + shift
			if at > span {
				at -= span // wrap around, keeping [0, span]
			}
			out = append(out, sim.Request{Arrival: time.Duration(float64(at) / o.Speedup),
				InputTokens: max(q.InputTokens, 1), OutputTokens: max(q.OutputTokens, 1)})
		}
	}
	return out
}

// traceName labels the workload with how it was scaled, time compression explicitly.
func traceName(name string, o TraceOptions) string {
	switch {
	case o.RateScale < 1:
		name += fmt.Sprintf(" rate x%g (thinned)", o.RateScale)
	case o.RateScale == math.Trunc(o.RateScale) && o.RateScale > 1:
		name += fmt.Sprintf(" rate x%g (superposed copies)", o.RateScale)
	case o.RateScale > 1:
		name += fmt.Sprintf(" rate x%g (superposed copies, one thinned)", o.RateScale)
	}
	if o.Speedup != 1 {
		name += fmt.Sprintf(" TIME-COMPRESSED x%g (--speedup)", o.Speedup)
	}
	return name
}

// Requests converts a trace's requests to simulator requests (token lengths at least 1), for use
// as a token source.
func Requests(reqs []workload.Request) []sim.Request {
	out := make([]sim.Request, len(reqs))
	for i, r := range reqs {
		out[i] = sim.Request{Arrival: r.Arrival, InputTokens: max(r.InputTokens, 1), OutputTokens: max(r.OutputTokens, 1)}
	}
	return out
}
