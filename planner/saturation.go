package planner

import "github.com/tidal-planner/tidal/policies"

// The saturation floor: enough replicas that the load the remaining error budget cannot afford to
// see exceed saturation stays below it.
//
// The reserve (reserve.go) plans for the growth of the load over a lead time at a quantile the
// error budget loosens while nothing is spent, and the SLO's queue model sizes for its latency
// percentile. Neither prices what happens past a service's saturation: there every request
// behind the backlog misses until replicas asked for then serve, a lead time later, and one such
// burst can cost more than a day's budget (a 1.6x burst of 10 minutes cost the 70B at TP4 1.4% of
// its day, docs/simulate.md). The floor asks for replicas whose saturation capacity carries the
// observed load grown by the point growth L[t+j]/L[t] over every lag j of the lead time
// (growth.pointQuantile: a spike of one interval weighs 1/lead of a burst that lasts the lead) at
// quantile 1 - m, with m the miss fraction the objective window's budget still allows this
// service (budgetShare.left less its spend): if the load exceeds saturation in a fraction m of the
// intervals and each such interval's requests all miss, the budget is just spent. Saturation is
// prefill's peak throughput at its best batch (model.Profile.PrefillPeak, up to the policy's
// performanceModel.maxBatchedTokens), and decode's need at its full utilisation ceiling (its
// throughput at the ITL target, or the sequences its KV cache holds).
//
// The point growth keeps the Poisson noise of counting a window's requests, which the reserve's
// peak growth discounts (the queue model prices it at the SLO's percentile): past saturation a
// minute's surplus builds a backlog like any other.
//
// A count that only the floor asks for flaps where the floor sits near a whole number of replicas
// (a minute's load is noisy), so the floor carries the HPA's tolerance band
// (stability.scaleDownTolerance, the Kubernetes HPA's 10% by default): it raises the count only
// past the next count's saturation x (1 + tolerance), and keeps the current count while one fewer
// would be past saturation. Aggregated workers have no floor: their engine's saturation is
// prefill and decode together, which this does not model.

// saturationFloor raises the size step's need to the saturation floor, and says so.
func (r *run) saturationFloor(m Model) {
	role := r.svc.Role
	if m == nil || (role != policies.RolePrefill && role != policies.RoleDecode) {
		return
	}
	q := r.saturationQuantile()
	if q <= r.ss.risk.quantile(role) {
		return // the reserve already plans at that quantile
	}
	raw, ok := r.saturationNeed(m, q)
	if !ok {
		return
	}
	floor := ceil32(raw / (1 + max(r.p.Stability.ScaleDownTolerance, 0)))
	if r.cur > floor && raw > float64(r.cur-1) {
		floor = r.cur // one fewer would be past saturation: the band's lower edge
	}
	if floor > r.want {
		r.add(StepSize, CodeSaturationFloor, r.want, floor, raw, q, "")
		r.want, r.sized = floor, floor
	}
}

// saturationQuantile is 1 - the miss fraction the budget still allows this service: what the other
// services left of the objective's budget, less its own spend over the objective window.
func (r *run) saturationQuantile() float64 {
	return 1 - max(r.share().left-r.ss.risk.spent(), 0)
}

// saturationNeed is the fractional replicas whose saturation carries the observed load grown by
// its point growth at quantile q; false while the growth is cold or the load or lengths unknown.
func (r *run) saturationNeed(m Model, q float64) (float64, bool) {
	rate, isl, osl := r.obs.RequestRate, r.obs.InputTokens, r.obs.OutputTokens
	if !rate.OK || !(rate.V > 0) || !isl.OK || !(isl.V > 0) || !osl.OK || osl.V < 0 {
		return 0, false
	}
	var g [numSignals]float64
	for k := range numSignals {
		f, ok := r.st.growth[k].pointQuantile(q)
		if !ok {
			return 0, false
		}
		g[k] = f
	}
	l := Load{RequestRate: rate.V * g[sigRequests], InputTokenRate: rate.V * isl.V * g[sigInput],
		OutputTokenRate: rate.V * osl.V * g[sigOutput], InputTokens: isl.V, OutputTokens: osl.V}
	if r.svc.Role == policies.RolePrefill && r.st.hasProfile {
		peak := r.calibratedOf(r.ss, r.svc.Role).PrefillPeak(isl.V, float64(r.p.PerformanceModel.MaxBatchedTokens), r.dec.GPUsPerReplica)
		return l.InputTokenRate / peak, peak > 0
	}
	z := r.sizingFor()
	z.utilisation = 1
	nd := size(m, l, z)
	return nd.raw, nd.ok
}
