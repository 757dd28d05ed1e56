package metrics_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/metrics/promtest"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// Percentiles and targets of the test policy's SLOs.
const (
	ttftPercentile = 90.0
	itlPercentile  = 95.0
	ttftTarget     = 300 * time.Millisecond
	itlTarget      = 20 * time.Millisecond
)

// testPolicy parses a disaggregated policy reading model/namespace from url; extra is appended
// to spec.metrics (e.g. query overrides), indented by four spaces.
func testPolicy(t testing.TB, url, model, namespace string, window time.Duration, extra string) policies.Policy {
	t.Helper()
	return testPolicyTargets(t, url, model, namespace, window, ttftTarget, itlTarget, extra)
}

// testPolicyTargets is testPolicy with other SLO targets.
func testPolicyTargets(t testing.TB, url, model, namespace string, window, ttft, itl time.Duration, extra string) policies.Policy {
	t.Helper()
	doc := fmt.Sprintf(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: test}
spec:
  target: {namespace: llm, deployment: llama, topology: disaggregated}
  services:
    - {name: Frontend, role: frontend, maxReplicas: 2, requestsPerSecondPerReplica: 100}
    - {name: Prefill, role: prefill, maxReplicas: 4}
    - {name: Decode, role: decode, maxReplicas: 4}
  slo:
    ttft: {target: %s, percentile: %g}
    itl: {target: %s, percentile: %g}
  metrics:
    prometheus: {url: %q, timeout: 10s}
    model: %q
    dynamoNamespace: %q
    window: %s
%s`, ttft, ttftPercentile, itl, itlPercentile, url, model, namespace, window, extra)
	p, err := policies.Parse([]byte(doc), "test.yaml")
	if err != nil {
		t.Fatalf("parsing the test policy: %v", err)
	}
	return p
}

// steady is the main synthetic deployment: linear arrivals, two frontends, two prefill and two
// decode workers. Bounds sit on the exporter's bucket bounds so quantiles are exact.
func steady() promtest.Deployment {
	return promtest.Deployment{
		Model: "llama", Namespace: "llm-llama", RequestRate: 100,
		InputTokens: promtest.Uniform{Lo: 1000, Hi: 3000}, OutputTokens: promtest.Uniform{Lo: 250, Hi: 750},
		TTFT: promtest.Uniform{Lo: 0.1, Hi: 0.5}, ITL: promtest.Uniform{Lo: 0.01, Hi: 0.03},
		Frontends: []promtest.Frontend{{Queued: 3, Inflight: 20}, {Queued: 4, Inflight: 25}},
		Workers: []promtest.Worker{
			{ID: "p0", Type: "prefill", KVUsage: 0.2, ActivePrefillTokens: 1000},
			{ID: "p1", Type: "prefill", KVUsage: 0.4, ActivePrefillTokens: 3000},
			{ID: "d0", Type: "decode", KVUsage: 0.5, ActiveDecodeBlocks: 200},
			{ID: "d1", Type: "decode", KVUsage: 0.7, ActiveDecodeBlocks: 400},
		},
	}
}

// bursty is a second deployment in another namespace: Poisson arrivals and different values,
// so it also checks that the main policy's queries filter it out.
func bursty() promtest.Deployment {
	return promtest.Deployment{
		Model: "llama", Namespace: "llm-poisson", RequestRate: 30, Poisson: true, Seed: 7,
		InputTokens: promtest.Uniform{Lo: 250, Hi: 500}, OutputTokens: promtest.Uniform{Lo: 250, Hi: 500},
		TTFT: promtest.Uniform{Lo: 1, Hi: 2}, ITL: promtest.Uniform{Lo: 0.05, Hi: 0.1},
		Frontends: []promtest.Frontend{{Queued: 50, Inflight: 60}},
		Workers:   []promtest.Worker{{ID: "a0", KVUsage: 0.9, ActiveDecodeBlocks: 999}},
	}
}

// mean averages xs.
func mean(xs ...float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// expected derives the observations a disaggregated test policy should see of d. ArrivalCV is
// left as the zero Value: it is checked separately.
func expected(d promtest.Deployment) planner.Observations {
	var queued, inflight float64
	for _, f := range d.Frontends {
		queued += f.Queued
		inflight += f.Inflight
	}
	var kvP, kvD, tokP, blkD []float64
	for _, w := range d.Workers {
		switch w.Type {
		case "prefill":
			kvP, tokP = append(kvP, w.KVUsage), append(tokP, w.ActivePrefillTokens)
		case "decode":
			kvD, blkD = append(kvD, w.KVUsage), append(blkD, w.ActiveDecodeBlocks)
		}
	}
	k := planner.Known
	na := planner.Unknown(metrics.ReasonNotApplicable)
	return planner.Observations{
		RequestRate: k(d.RequestRate), InputTokens: k(d.InputTokens.Mean()), OutputTokens: k(d.OutputTokens.Mean()),
		TTFT: k(d.TTFT.Mean()), TTFTPercentile: k(d.TTFT.Quantile(ttftPercentile / 100)),
		ITL: k(d.ITL.Mean()), ITLPercentile: k(d.ITL.Quantile(itlPercentile / 100)),
		QueueDepth: k(queued), Inflight: k(inflight), KVUsage: k(mean(kvD...)),
		InputTokensPercentile:  k(d.InputTokens.Quantile(ttftPercentile / 100)),
		OutputTokensPercentile: k(d.OutputTokens.Quantile(itlPercentile / 100)),
		TTFTAttained:           k(d.TTFT.CDF(ttftTarget.Seconds())),
		ITLAttained:            k(d.ITL.CDF(itlTarget.Seconds())),
		Services: []planner.ServiceObservation{
			{Name: "Frontend", KVUsage: na, ActiveTokens: na},
			{Name: "Prefill", KVUsage: k(mean(kvP...)), ActiveTokens: k(mean(tokP...))},
			{Name: "Decode", KVUsage: k(mean(kvD...)), ActiveTokens: k(mean(blkD...))},
		},
	}
}

// approxValues compares planner.Values: both known and within rel (relative) or 1e-9, or both
// missing with one reason a prefix of the other.
func approxValues(rel float64) cmp.Option {
	return cmp.Comparer(func(a, b planner.Value) bool {
		if a.OK != b.OK {
			return false
		}
		if !a.OK {
			return strings.HasPrefix(a.Missing, b.Missing) || strings.HasPrefix(b.Missing, a.Missing)
		}
		return math.Abs(a.V-b.V) <= rel*math.Max(math.Abs(a.V), math.Abs(b.V))+1e-9
	})
}

// diffObservations compares the Prometheus-derived parts of two observations (not Time and
// Window; ArrivalCV only when want sets it, as its value is not known in advance).
func diffObservations(want, got planner.Observations, rel float64) string {
	want.Time, want.Window = time.Time{}, 0
	got.Time, got.Window = time.Time{}, 0
	if want.ArrivalCV == (planner.Value{}) {
		got.ArrivalCV = planner.Value{}
	}
	return cmp.Diff(want, got, approxValues(rel))
}

// missingAll is the observation whose every value is missing with a reason starting with
// prefix (a frontend's worker signals are not applicable).
func missingAll(prefix string) planner.Observations {
	m := planner.Unknown(prefix)
	na := planner.Unknown(metrics.ReasonNotApplicable)
	return planner.Observations{
		RequestRate: m, InputTokens: m, OutputTokens: m, TTFT: m, TTFTPercentile: m, ITL: m,
		ITLPercentile: m, QueueDepth: m, Inflight: m, KVUsage: m, ArrivalCV: m,
		InputTokensPercentile: m, OutputTokensPercentile: m, TTFTAttained: m, ITLAttained: m,
		Services: []planner.ServiceObservation{
			{Name: "Frontend", KVUsage: na, ActiveTokens: na},
			{Name: "Prefill", KVUsage: m, ActiveTokens: m},
			{Name: "Decode", KVUsage: m, ActiveTokens: m},
		},
	}
}

// timeZero is the zero time: Observe then evaluates at Prometheus's own current time.
func timeZero() time.Time { return time.Time{} }
