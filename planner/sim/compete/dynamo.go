package compete

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/policies"
)

// DynamoInterval is the adjustment interval of Dynamo's SLA planner (adjustment_interval, default
// 180 s; throughput_adjustment_interval in the current planner).
const DynamoInterval = 180 * time.Second

// DynamoMinEndpoint is Dynamo's min_endpoint default: at least one engine per component.
const DynamoMinEndpoint = 1

// Dynamo is NVIDIA Dynamo's SLA planner of the interpolation generation with its defaults
// (components/src/dynamo/planner/utils/planner_core.py and perf_interpolation.py at ai-dynamo/dynamo
// 0d5c8dfc4; notes: ../shared/research/dynamo-planner.md §1.1, §2). Every 180 s it reads the last
// interval's request count, mean ISL and OSL, mean TTFT and ITL; skips when any is missing; feeds the
// count, ISL and OSL to one ARIMA predictor each (its default load_predictor); updates the correction
// factors (on by default):
//
//	p_corr = TTFT_observed / TTFT_profile(ISL)
//	d_corr = ITL_observed / ITL_profile(kv = conc x ctx / max_kv, ctx),  ctx = ISL + OSL/2,
//	conc   = requests / decode workers x request duration / interval
//
// and sizes, from the predicted next interval (checked against prefill_planner.py and
// planner_core.py at ai-dynamo/dynamo e2812167):
//
//	prefill = ceil(N x ISL / interval x min(1, p_corr) / thpt_per_gpu(ISL) / GPUs per engine)
//	decode  = ceil(N x OSL / interval / thpt_per_gpu(ITL target / d_corr, ctx) / GPUs per engine)
//
// each at least min_endpoint (1), then its GPU budget rule (floored, prefill first), here with the
// policy's budget. The decode throughput is find_best_throughput_per_gpu: scanning KV usage from high to low,
// the profile's throughput at the first usage whose ITL meets the corrected target (the lowest
// usage's if none does). The profile is the one the planners read (Setup.Profile), not the world's.
//
// Differences, stated: the profile is interpolated linearly (planner/profile) where Dynamo uses cubic
// interp1d/griddata; the request duration is not a simulated metric, so it is estimated as
// TTFT + ITL x (OSL - 1) from the same window's means; an aggregated service (which this generation
// does not plan) takes the larger of the prefill and decode needs.
type Dynamo struct {
	Deployment sim.Deployment
	Profile    profile.Profile
	// BudgetGPUs caps the GPUs (0: no cap).
	BudgetGPUs int
	// NoCorrection turns the correction factors off (Dynamo's --no-correction).
	NoCorrection bool

	num, isl, osl arimaPredictor
	pCorr, dCorr  float64
}

// NewDynamo prepares Dynamo's planner, its predictors warmed with history (the load before the
// workload at step; may be empty), regrouped to its 180 s interval as Dynamo's
// load_predictor_warmup_trace buckets a trace per adjustment interval.
func NewDynamo(d sim.Deployment, prof profile.Profile, budget int, history planner.LoadHistory, step time.Duration) *Dynamo {
	dy := &Dynamo{Deployment: d, Profile: prof, BudgetGPUs: budget, pCorr: 1, dCorr: 1}
	warmPredictors(history, step, DynamoInterval, &dy.num, &dy.isl, &dy.osl)
	return dy
}

// warmPredictors feeds history, regrouped into interval-long buckets (request count, mean ISL and
// OSL), to the three predictors.
func warmPredictors(h planner.LoadHistory, step, interval time.Duration, num, isl, osl *arimaPredictor) {
	n := min(len(h.RequestRate), len(h.InputTokens), len(h.OutputTokens))
	if n == 0 || step <= 0 {
		return
	}
	k := max(int(interval/step), 1)
	for start := n % k; start+k <= n; start += k {
		var reqs, in, out float64
		for i := start; i < start+k; i++ {
			r := h.RequestRate[i] * step.Seconds()
			reqs += r
			in += r * h.InputTokens[i]
			out += r * h.OutputTokens[i]
		}
		num.add(reqs)
		if reqs > 0 {
			isl.add(in / reqs)
			osl.add(out / reqs)
		}
	}
}

// Cadence implements sim.Autoscaler.
func (d *Dynamo) Cadence() sim.Cadence {
	return sim.Cadence{Interval: DynamoInterval, Window: DynamoInterval}
}

// Scale implements sim.Autoscaler.
func (d *Dynamo) Scale(_ time.Time, obs planner.Observations) map[string]int32 {
	if !obs.RequestRate.OK || !obs.InputTokens.OK || !obs.OutputTokens.OK || !obs.TTFT.OK || !obs.ITL.OK {
		return nil // Dynamo skips the adjustment when any metric is None or NaN
	}
	iv := DynamoInterval.Seconds()
	n, isl, osl := obs.RequestRate.V*iv, obs.InputTokens.V, obs.OutputTokens.V
	d.num.add(n)
	d.isl.add(isl)
	d.osl.add(osl)
	if !d.NoCorrection {
		d.correct(obs, n, isl, osl)
	}
	nn, _ := d.num.next()
	ni, _ := d.isl.next()
	no, _ := d.osl.next()
	pre, dec := d.needs(nn, ni, no)
	return d.place(pre, dec)
}

// correct updates the correction factors from the window's observed latencies.
func (d *Dynamo) correct(obs planner.Observations, n, isl, osl float64) {
	if exp := d.Profile.Prefill.TTFT(isl); exp > 0 {
		d.pCorr = obs.TTFT.V / exp
	}
	workers := 0.0
	for _, svc := range d.Deployment.Services {
		if so, ok := obs.Service(svc.Name); ok && svc.Role != policies.RolePrefill {
			workers += float64(so.Ready)
		}
	}
	if workers <= 0 {
		return
	}
	duration := obs.TTFT.V + obs.ITL.V*max(osl-1, 0)
	conc := n / workers * duration / DynamoInterval.Seconds()
	ctx := isl + osl/2
	if exp := d.Profile.Decode.ITL(conc*ctx/d.Profile.Decode.MaxKVTokens(), ctx); exp > 0 {
		d.dCorr = obs.ITL.V / exp
	}
}

// needs returns the prefill and decode GPUs (fractional) for a predicted interval of n requests.
func (d *Dynamo) needs(n, isl, osl float64) (pre, dec float64) {
	iv := DynamoInterval.Seconds()
	pre = n * isl / iv * min(1, d.pCorr) / d.Profile.Prefill.Throughput(isl)
	itl := d.Deployment.ITL.Seconds()
	if d.dCorr > 0 {
		itl /= d.dCorr
	}
	dec = n * osl / iv / DynamoDecodeThroughput(d.Profile, itl, isl+osl/2)
	return pre, dec
}

// place turns GPU needs into replicas per service, at least min_endpoint, within the budget.
func (d *Dynamo) place(preGPUs, decGPUs float64) map[string]int32 {
	out := map[string]int32{}
	var pi, di = -1, -1
	for i, svc := range d.Deployment.Services {
		g := float64(svc.GPUsPerReplica)
		var n float64
		switch svc.Role {
		case policies.RolePrefill:
			n, pi = math.Ceil(preGPUs/g), i
		case policies.RoleDecode:
			n, di = math.Ceil(decGPUs/g), i
		default:
			n = math.Ceil(max(preGPUs, decGPUs) / g)
			if d.BudgetGPUs > 0 {
				n = min(n, math.Floor(float64(d.BudgetGPUs)/g))
			}
		}
		out[svc.Name] = clampReplicas(max(n, DynamoMinEndpoint), svc)
	}
	if pi >= 0 && di >= 0 && d.BudgetGPUs > 0 {
		p, q := d.Deployment.Services[pi], d.Deployment.Services[di]
		np, nd := dynamoBudget(int(out[p.Name]), int(out[q.Name]), p.GPUsPerReplica, q.GPUsPerReplica, d.BudgetGPUs)
		out[p.Name], out[q.Name] = clampReplicas(float64(np), p), clampReplicas(float64(nd), q)
	}
	return out
}

// dynamoBudget is the budget rule of the interpolation generation as last shipped
// (planner_core.py _apply_global_gpu_budget at ai-dynamo/dynamo e2812167, the same rule as
// core/budget.py later): fpmBudget. (Earlier versions rounded instead of flooring.)
func dynamoBudget(p, d, pg, dg, budget int) (int, int) { return fpmBudget(p, d, pg, dg, budget) }

// clampReplicas bounds a replica count to a service's [min, max] (and to at least 1).
func clampReplicas(n float64, svc sim.Service) int32 {
	if math.IsNaN(n) {
		n = 0
	}
	return int32(min(max(n, float64(svc.MinReplicas), 1), float64(svc.MaxReplicas)))
}

// DynamoDecodeThroughput is find_best_throughput_per_gpu of Dynamo's DecodeInterpolator: on a
// 100-point KV-usage grid over [0, 1] at context ctx, scanning from high usage down, the profile's
// throughput per GPU at the first usage whose ITL is within itl seconds; the lowest usage's if none.
func DynamoDecodeThroughput(p profile.Profile, itl, ctx float64) float64 {
	const steps = 100
	for i := steps - 1; i >= 0; i-- {
		kv := float64(i) / (steps - 1)
		if p.Decode.ITL(kv, ctx) <= itl {
			return p.Decode.Throughput(kv, ctx)
		}
	}
	return p.Decode.Throughput(0, ctx)
}
