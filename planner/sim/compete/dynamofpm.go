package compete

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/policies"
)

// DynamoFPM is Dynamo's current planner (the FPM-regression generation; ai-dynamo/dynamo
// components/src/dynamo/planner/core/{state_machine,throughput_scaling,budget}.py and
// core/perf_model/*.py; notes: ../shared/research/dynamo-planner.md §1.3, §6.1) in its
// regression-based mode: optimization_target sla with its defaults (mode disagg, throughput scaling
// on every 180 s, load scaling off, ARIMA predictors, min_endpoint 1). It learns per-iteration wall
// time online from the simulated engines' forward passes, sampled every load tick (5 s) into the
// 64-sample bucketed stores, bootstrapped from the profile:
//
//	prefill: wall = a + b x prefill tokens;  decode: wall = a + b1 x requests + b2 x KV tokens
//
// Every 180 s, with the predicted request count N, ISL and OSL (demand = N / 180 s):
//
//	prefill engines = max(ceil(demand / (1 / wall(ISL))), 1)   (chunked by max_num_batched_tokens)
//	decode engines  = max(ceil(demand / (bs / (OSL x wall(bs, bs x ctx)))), 1),  ctx = ISL + OSL/2
//
// where bs is the largest batch (binary search up to min(max_kv / ctx, max_num_seqs)) whose
// iteration time meets the ITL target; then the budget rule of core/budget.py with the policy's
// budget. No traffic data or a model that is not ready holds. The KV-hit-rate predictor has no data
// in the simulator (no prefix reuse), so its discount is 0, as Dynamo does without router metrics.
// An aggregated service (Dynamo's agg mode uses a 2-D [prefill tokens, decode KV tokens] model) is
// approximated by one engine spending 1/prefill_rps + 1/decode_rps per request.
type DynamoFPM struct {
	Deployment sim.Deployment
	BudgetGPUs int

	maxKV         float64 // the profile's KV capacity per engine, tokens
	pre, dec      *fpmRegression
	lastPre       float64
	lastDec       float64
	num, isl, osl arimaPredictor

	// Adjustments counts Scale calls; NoTraffic and NotReady those that held (Dynamo's reasons
	// no_traffic_data and model_not_ready).
	Adjustments, NoTraffic, NotReady int
}

// NewDynamoFPM prepares the planner, its regressions bootstrapped from the profile the planners
// read and its predictors warmed with history (at step), as NewDynamo's.
func NewDynamoFPM(d sim.Deployment, prof profile.Profile, budget int, history planner.LoadHistory, step time.Duration) *DynamoFPM {
	f := &DynamoFPM{Deployment: d, BudgetGPUs: budget, pre: newFPMRegression(1), dec: newFPMRegression(2),
		lastPre: math.Inf(-1), lastDec: math.Inf(-1), maxKV: prof.Decode.MaxKVTokens()}
	bootstrapFPM(prof, f.pre, f.dec)
	warmPredictors(history, step, DynamoInterval, &f.num, &f.isl, &f.osl)
	return f
}

// ObservePass implements sim.PassObserver: one pass per load tick per phase feeds the models.
func (f *DynamoFPM) ObservePass(p sim.ForwardPass) {
	switch {
	case p.PrefillTokens > 0:
		if elapsedTick(&f.lastPre, p.Time) {
			f.pre.add([2]float64{p.PrefillTokens}, p.WallTime)
		}
	case p.DecodeRequests > 0:
		if elapsedTick(&f.lastDec, p.Time) {
			f.dec.add([2]float64{float64(p.DecodeRequests), p.DecodeKVTokens}, p.WallTime)
		}
	}
}

// Cadence implements sim.Autoscaler: the throughput adjustment interval.
func (f *DynamoFPM) Cadence() sim.Cadence {
	return sim.Cadence{Interval: DynamoInterval, Window: DynamoInterval}
}

// Scale implements sim.Autoscaler.
func (f *DynamoFPM) Scale(_ time.Time, obs planner.Observations) map[string]int32 {
	f.Adjustments++
	if !obs.RequestRate.OK || !obs.InputTokens.OK || !obs.OutputTokens.OK {
		f.NoTraffic++
		return nil // no_traffic_data
	}
	f.num.add(obs.RequestRate.V * DynamoInterval.Seconds())
	f.isl.add(obs.InputTokens.V)
	f.osl.add(obs.OutputTokens.V)
	n, _ := f.num.next()
	isl, _ := f.isl.next()
	osl, _ := f.osl.next()
	demand := n / DynamoInterval.Seconds()
	pRPS, ok1 := f.prefillRPS(isl)
	dRPS, ok2 := f.decodeRPS(isl, osl)
	if !ok1 || !ok2 {
		f.NotReady++
		return nil // model_not_ready
	}
	out := map[string]int32{}
	pi, di := -1, -1
	for i, svc := range f.Deployment.Services {
		var need float64
		switch svc.Role {
		case policies.RolePrefill:
			need, pi = demand/pRPS, i
		case policies.RoleDecode:
			need, di = demand/dRPS, i
		default:
			need = demand * (1/pRPS + 1/dRPS)
			if f.BudgetGPUs > 0 {
				need = min(need, math.Floor(float64(f.BudgetGPUs)/float64(svc.GPUsPerReplica)))
			}
		}
		out[svc.Name] = clampReplicas(max(math.Ceil(need), DynamoMinEndpoint), svc)
	}
	if pi >= 0 && di >= 0 && f.BudgetGPUs > 0 {
		p, q := f.Deployment.Services[pi], f.Deployment.Services[di]
		np, nd := fpmBudget(int(out[p.Name]), int(out[q.Name]), p.GPUsPerReplica, q.GPUsPerReplica, f.BudgetGPUs)
		out[p.Name], out[q.Name] = clampReplicas(float64(np), p), clampReplicas(float64(nd), q)
	}
	return out
}

// prefillRPS is find_best_engine_prefill_rps: one request per pass, chunked by the token budget.
func (f *DynamoFPM) prefillRPS(isl float64) (float64, bool) {
	mbt := float64(f.Deployment.PrefillTokenBudget)
	var wt float64
	if isl > mbt {
		full, ok := f.pre.predict([2]float64{mbt})
		rest, ok2 := f.pre.predict([2]float64{isl - (math.Ceil(isl/mbt)-1)*mbt})
		if !ok || !ok2 {
			return 0, false
		}
		wt = (math.Ceil(isl/mbt)-1)*full + rest
	} else {
		v, ok := f.pre.predict([2]float64{isl})
		if !ok {
			return 0, false
		}
		wt = v
	}
	if wt <= 0 {
		return 0, false
	}
	return 1 / wt, true
}

// decodeRPS is find_best_engine_decode_rps: the largest batch meeting the ITL target, by Little's law.
func (f *DynamoFPM) decodeRPS(isl, osl float64) (float64, bool) {
	ctx := max(isl+osl/2, 1)
	itl := f.Deployment.ITL.Seconds()
	hi := max(int(math.Min(f.maxKV/ctx, float64(f.Deployment.MaxBatch))), 1)
	wt := func(bs int) (float64, bool) { return f.dec.predict([2]float64{float64(bs), float64(bs) * ctx}) }
	lo := 1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		w, ok := wt(mid)
		if !ok {
			return 0, false
		}
		if w <= itl {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	w, ok := wt(lo)
	if !ok || w <= 0 {
		return 0, false
	}
	return float64(lo) / (max(osl, 1) * w), true
}

// fpmBudget is core/budget.py's disaggregated rule: over the budget, prefill gets
// max(1, min(floor((budget - decode GPUs) / prefill GPUs), floor(p x budget/total))) and decode
// what is left (floored), at least 1.
func fpmBudget(p, d, pg, dg, budget int) (int, int) {
	total := p*pg + d*dg
	if total <= budget {
		return p, d
	}
	scale := float64(budget) / float64(total)
	maxP := (budget - DynamoMinEndpoint*dg) / pg
	p = max(DynamoMinEndpoint, min(maxP, int(math.Floor(float64(p)*scale))))
	d = max(DynamoMinEndpoint, (budget-p*pg)/dg)
	return p, d
}
