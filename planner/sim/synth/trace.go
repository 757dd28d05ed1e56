package synth

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/workload"
)

// FromTrace turns a per-request trace into a workload replayed rateScale times faster (arrival
// offsets divided by rateScale, so the rate is multiplied and the span shortened; token lengths
// are kept). Requests are sorted by arrival (stable: file order breaks ties); negative arrivals
// are an error.
func FromTrace(name string, reqs []workload.Request, rateScale float64) (sim.Workload, error) {
	if !(rateScale > 0) || math.IsInf(rateScale, 0) {
		return sim.Workload{}, fmt.Errorf("replaying %s: rate scale %v is not a positive number", name, rateScale)
	}
	if len(reqs) == 0 {
		return sim.Workload{}, fmt.Errorf("replaying %s: %w", name, errors.New("the trace has no requests"))
	}
	wl := sim.Workload{Name: name, Requests: make([]sim.Request, len(reqs))}
	for i, r := range reqs {
		if r.Arrival < 0 {
			return sim.Workload{}, fmt.Errorf("replaying %s: request %d arrives at %v, before the trace starts", name, i, r.Arrival)
		}
		wl.Requests[i] = sim.Request{Arrival: time.Duration(float64(r.Arrival) / rateScale),
			InputTokens: max(r.InputTokens, 1), OutputTokens: max(r.OutputTokens, 1)}
	}
	slices.SortStableFunc(wl.Requests, func(a, b sim.Request) int { return cmp.Compare(a.Arrival, b.Arrival) })
	wl.Duration = wl.Requests[len(wl.Requests)-1].Arrival
	return wl, nil
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
