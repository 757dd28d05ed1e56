package compete

import (
	"fmt"
	"math"

	"github.com/tidal-planner/tidal/planner/sim"
)

// SearchResult is the outcome of a static search: the allocation found and its run.
type SearchResult struct {
	Replicas map[string]int32
	Result   sim.Result
	// Runs counts the simulations the search needed.
	Runs int
}

// Search finds the smallest fixed allocation whose SLO attainment over the whole workload is at
// least goal. It starts from the oracle's peak need (or every service's maximum if that falls
// short), binary-searches each service in turn below it with the others at their current
// counts, then walks up while the result still falls short. Runs that cannot reach the goal
// stop early (Options.AbortAfterMisses), which keeps the search to a few full runs. If even the
// maximum misses the goal, the maximum is returned.
func Search(d sim.Deployment, wl sim.Workload, goal float64, opt sim.Options) (SearchResult, error) {
	s := searcher{d: d, wl: wl, goal: goal, opt: opt}
	counts := NewOracle(d, wl, OracleOptions{Epoch: opt.Epoch}).Peak()
	if res, err := s.run(counts, true); err != nil {
		return SearchResult{}, err
	} else if res.Aborted || res.Attainment < goal {
		for _, svc := range d.Services {
			counts[svc.Name] = int32(svc.MaxReplicas)
		}
	}
	for _, svc := range d.Services {
		n, err := s.smallest(counts, svc)
		if err != nil {
			return SearchResult{}, err
		}
		counts[svc.Name] = int32(n)
	}
	for {
		res, err := s.run(counts, false)
		if err != nil {
			return SearchResult{}, err
		}
		if res.Attainment >= goal || !s.grow(counts) {
			return SearchResult{Replicas: counts, Result: res, Runs: s.runs}, nil
		}
	}
}

type searcher struct {
	d    sim.Deployment
	wl   sim.Workload
	goal float64
	opt  sim.Options
	runs int
}

// smallest binary-searches svc's count with the other services at their current counts.
func (s *searcher) smallest(counts map[string]int32, svc sim.Service) (int, error) {
	lo, hi := svc.MinReplicas, int(counts[svc.Name])
	try := map[string]int32{}
	for k, v := range counts {
		try[k] = v
	}
	for lo < hi {
		mid := (lo + hi) / 2
		try[svc.Name] = int32(mid)
		res, err := s.run(try, true)
		if err != nil {
			return 0, err
		}
		if !res.Aborted && res.Attainment >= s.goal {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// grow adds one replica to the service that is cheapest in GPUs and not at its maximum.
func (s *searcher) grow(counts map[string]int32) bool {
	best, bestGPUs := -1, math.MaxInt
	for i, svc := range s.d.Services {
		if int(counts[svc.Name]) < svc.MaxReplicas && svc.GPUsPerReplica < bestGPUs {
			best, bestGPUs = i, svc.GPUsPerReplica
		}
	}
	if best < 0 {
		return false
	}
	counts[s.d.Services[best].Name]++
	return true
}

func (s *searcher) run(counts map[string]int32, abort bool) (sim.Result, error) {
	s.runs++
	opt := s.opt
	opt.Progress = nil
	if abort {
		opt.AbortAfterMisses = int(math.Floor((1 - s.goal) * float64(len(s.wl.Requests))))
	}
	res, err := sim.Run(WithInitial(s.d, counts), s.wl, Static{Replicas: counts}, opt)
	if err != nil {
		return sim.Result{}, fmt.Errorf("searching a static allocation: %w", err)
	}
	return res, nil
}
