package planner

import "math"

// This file holds the prefill queueing model. A prefill replica is one server whose service time
// is the lone-request TTFT at the mean input length; requests wait when all servers are busy.
//
// Mean wait: the Allen–Cunneen approximation for G/G/c (A. O. Allen, "Probability, Statistics, and
// Queueing Theory with Computer Science Applications", 2nd ed., Academic Press 1990; also used in
// W. Hopp & M. Spearman, "Factory Physics"), which scales the M/M/c mean wait by (ca² + cs²)/2:
//
//	E[Wq] ≈ C(c, a) / (cμ − λ) × (ca² + cs²)/2,  a = λ/μ,
//
// where C(c, a) is the Erlang C probability of waiting. Percentile: M/M/c waiting times have the
// tail P(Wq > t) = C(c, a)·exp(−(cμ − λ)t); we keep that shape and stretch it by the same
// variability factor, so the p-quantile of the wait is
//
//	w_p = max(0, (ca² + cs²)/2 × ln(C(c, a)/(1 − p)) / (cμ − λ)),
//
// and the TTFT percentile is modelled as S + w_p. ca is the observed coefficient of variation of
// inter-arrival times (1 = Poisson); cs is serviceCV.

// serviceCV is the assumed coefficient of variation of prefill service times. A prefill's time is
// close to linear in its input length, so cs is the CV of input lengths; 0.5 sits between the
// M/D/c (0) and M/M/c (1) extremes. With Poisson arrivals the variability factor is
// (1 + 0.25)/2 = 0.625. A CV read from the input-length histogram was measured and not adopted:
// the error budget scales this term, which absorbs most of a wrong CV (docs/planner.md, Deferred).
const serviceCV = 0.5

// maxPlannedUtilisation caps utilisation when the TTFT target is unreachable at any replica count
// (the lone-request TTFT already exceeds it): the planner then sizes for throughput with this
// margin and says the SLO is infeasible.
const maxPlannedUtilisation = 0.8

// erlangB advances the Erlang B blocking probability from c−1 to c servers at offered load a
// (the stable recursion B(c) = a·B(c−1) / (c + a·B(c−1)), B(0) = 1).
func erlangB(prev float64, c int, a float64) float64 {
	return a * prev / (float64(c) + a*prev)
}

// erlangC is the probability an arrival waits in M/M/c, from Erlang B: C = B / (1 − ρ(1 − B)).
func erlangC(b float64, c int, a float64) float64 {
	rho := a / float64(c)
	return b / (1 - rho*(1-b))
}

// waitPercentile is w_p above for c servers, arrival rate lambda (1/s), service time s (s),
// percentile p in (0,1) and variability factor v = (ca² + cs²)/2; b is Erlang B at c. It returns
// +Inf when the queue is unstable (a >= c).
func waitPercentile(b float64, c int, lambda, s, p, v float64) float64 {
	a := lambda * s
	if a >= float64(c) {
		return math.Inf(1)
	}
	pw := erlangC(b, c, a)
	if pw <= 1-p {
		return 0
	}
	return v * math.Log(pw/(1-p)) / (float64(c)/s - lambda)
}

// variability returns (ca² + cs²)/2 for an arrival CV (Poisson when unknown or invalid).
func variability(arrivalCV Value) float64 {
	ca := 1.0
	if arrivalCV.OK && arrivalCV.V >= 0 && !math.IsInf(arrivalCV.V, 0) {
		ca = arrivalCV.V
	}
	return (ca*ca + serviceCV*serviceCV) / 2
}

// prefillServers returns the fewest servers c <= limit with S + w_p(c) <= target, for arrival rate
// lambda, service time s, percentile p and variability v. feasible is false when s alone exceeds
// the target; c is then sized for maxPlannedUtilisation. If no c <= limit meets the target, limit+1
// is returned.
func prefillServers(lambda, s, target, p, v float64, limit int) (c int, feasible bool) {
	a := lambda * s
	if a <= 0 {
		return 0, s <= target
	}
	if s > target {
		return int(math.Ceil(a / maxPlannedUtilisation)), false
	}
	b := 1.0
	for c = 1; c <= limit; c++ {
		b = erlangB(b, c, a)
		if s+waitPercentile(b, c, lambda, s, p, v) <= target {
			return c, true
		}
	}
	return limit + 1, true
}

// erlangBAt computes Erlang B for c servers at offered load a from scratch.
func erlangBAt(c int, a float64) float64 {
	b := 1.0
	for k := 1; k <= c; k++ {
		b = erlangB(b, k, a)
	}
	return b
}

// meanWait is the Allen–Cunneen mean wait for c servers (used to calibrate a profile against the
// observed mean TTFT). It returns +Inf when the queue is unstable.
func meanWait(c int, lambda, s, v float64) float64 {
	a := lambda * s
	if c <= 0 || a >= float64(c) {
		return math.Inf(1)
	}
	return erlangC(erlangBAt(c, a), c, a) / (float64(c)/s - lambda) * v
}
