package compete

import (
	"fmt"
	"math"

	"github.com/tidal-planner/tidal/planner/sim"
)

// hpaGrid is the number of candidate targets per metric the tuning search bisects over.
const hpaGrid = 24

// HPATuning is the outcome of TuneHPA: the targets found and the runs the search took.
type HPATuning struct {
	PrefillTokensPerReplica, KVUsagePerReplica float64
	Runs                                       int
}

// hpaPrefillTarget is the i-th prefill target candidate: from 5% to 150% of one engine's
// profiled prefill throughput at the workload's mean input length, geometrically spaced.
func hpaPrefillTarget(s Setup, isl float64, i int) float64 {
	engine := s.Profile.Prefill.Throughput(isl) * float64(max(s.Profile.Prefill.EngineGPUs(), 1))
	return engine * 0.05 * math.Pow(30, float64(i)/(hpaGrid-1))
}

// hpaKVTarget is the i-th KV-usage target candidate: 2% to 98% usage per replica.
func hpaKVTarget(i int) float64 { return 0.02 + 0.96*float64(i)/(hpaGrid-1) }

// TuneHPA finds the HPA targets an operator would settle on with hindsight, by the same kind of
// search as the static allocation: the largest targets (fewest replicas) whose run over the whole
// workload reaches the goal. It bisects the prefill target with the decode target at its most
// conservative candidate, then the decode target with the prefill target found; runs that cannot
// reach the goal stop early. If no candidate reaches the goal it keeps the most conservative one.
// d is the warm-started deployment every planner runs in.
func TuneHPA(s Setup, d sim.Deployment, goal float64) (HPATuning, error) {
	isl, _ := meanLengths(s.Workload)
	t := HPATuning{}
	opt := s.Options
	opt.Progress = nil
	opt.AbortAfterMisses = int(math.Floor((1 - goal) * float64(len(s.Workload.Requests))))
	ok := func(pre, kv float64) (bool, error) {
		t.Runs++
		r, err := sim.Run(d, s.Workload, &HPA{Deployment: d, PrefillTokensPerReplica: pre, KVUsagePerReplica: kv, Window: hpaWindow(s)}, opt)
		if err != nil {
			return false, fmt.Errorf("tuning the HPA's targets: %w", err)
		}
		return !r.Aborted && r.Attainment >= goal, nil
	}
	kv0 := hpaKVTarget(0)
	pi, err := largestPassing(func(i int) (bool, error) { return ok(hpaPrefillTarget(s, isl, i), kv0) })
	if err != nil {
		return t, err
	}
	t.PrefillTokensPerReplica = hpaPrefillTarget(s, isl, pi)
	ki, err := largestPassing(func(i int) (bool, error) { return ok(t.PrefillTokensPerReplica, hpaKVTarget(i)) })
	if err != nil {
		return t, err
	}
	t.KVUsagePerReplica = hpaKVTarget(ki)
	return t, nil
}

// largestPassing bisects [0, hpaGrid) for the largest index that passes, assuming passing is
// monotone (larger targets, fewer replicas, lower attainment); 0 if none passes.
func largestPassing(pass func(int) (bool, error)) (int, error) {
	lo, hi := 0, hpaGrid-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		p, err := pass(mid)
		if err != nil {
			return 0, err
		}
		if p {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, nil
}
