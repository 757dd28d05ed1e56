package metrics_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/metrics/promtest"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// Windows and thresholds of the integration tests, sized for a 1 s scrape interval.
const (
	testWindow     = 3 * time.Second
	testStaleAfter = 3 * time.Second
	testPoll       = 30 * time.Second // upper bound on any wait for Prometheus to catch up
)

// testOptions are adapter options for a 1 s scrape interval.
func testOptions() metrics.Options {
	return metrics.Options{StaleAfter: testStaleAfter, ArrivalStep: 2 * time.Second, ArrivalRange: 20 * time.Second}
}

// eventually polls check until it returns "" or testPoll passes, then fails with its last
// message. Prometheus scrapes in real time, so the tests wait for it rather than sleep.
func eventually(t *testing.T, what string, check func() string) {
	t.Helper()
	deadline := time.NewTimer(testPoll)
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		msg := check()
		if msg == "" {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("%s: still not true after %s: %s", what, testPoll, msg)
		case <-tick.C:
		}
	}
}

// observe reads observations as of Prometheus's current time (a zero now).
func observe(t *testing.T, a *metrics.Adapter, p policies.Policy) planner.Observations {
	t.Helper()
	o, err := a.Observe(context.Background(), p, time.Time{})
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	return o
}

// variant returns steady() under another dynamo_namespace.
func variant(namespace string) promtest.Deployment {
	d := steady()
	d.Namespace = namespace
	return d
}

// TestObserveAgainstPrometheus drives a real Prometheus scraping the synthetic exporter through
// load changes, a counter reset, stale gauges, vanished series and a Prometheus outage. Each
// edge has its own deployment (dynamo_namespace) so the edges run in parallel.
func TestObserveAgainstPrometheus(t *testing.T) {
	exp := promtest.NewExporterT(t)
	stale := variant("llm-stale")
	stale.ExplicitTimestamps = true
	for _, d := range []promtest.Deployment{steady(), bursty(), variant("llm-reset"), stale, variant("llm-linear"), variant("llm-gone"), variant("llm-kv"), attaining()} {
		exp.Set(d)
	}
	prom := promtest.StartT(t, promtest.Config{Targets: []string{exp.Addr()}})
	a := metrics.New(testOptions())
	policyFor := func(ns string) policies.Policy { return testPolicy(t, prom.URL(), "llama", ns, testWindow, "") }
	main := policyFor("llm-llama")

	matches := func(d promtest.Deployment, rel float64) func() string {
		return func() string { return diffObservations(expected(d), observe(t, a, main), rel) }
	}
	eventually(t, "initial load observed", matches(steady(), 0.02))

	changed := steady()
	changed.RequestRate, changed.TTFT = 40, promtest.Uniform{Lo: 0.2, Hi: 1.0}
	changed.Frontends[0].Queued = 11
	exp.Set(changed)
	eventually(t, "changed load observed", matches(changed, 0.02))

	t.Run("edges", func(t *testing.T) { runEdges(t, exp, prom, a, stale) })
	t.Run("prometheus down and back", func(t *testing.T) {
		if err := prom.Stop(); err != nil {
			t.Fatal(err)
		}
		if diff := diffObservations(missingAll(metrics.ReasonUnreachable), observe(t, a, main), 0); diff != "" {
			t.Errorf("with Prometheus stopped (-want +got):\n%s", diff)
		}
		if err := prom.Restart(context.Background()); err != nil {
			t.Fatal(err)
		}
		eventually(t, "recovered after restart", matches(changed, 0.02))
	})
}

// runEdges runs the edge cases in parallel, each on its own deployment.
func runEdges(t *testing.T, exp *promtest.Exporter, prom *promtest.Server, a *metrics.Adapter, stale promtest.Deployment) {
	policyFor := func(ns string) policies.Policy { return testPolicy(t, prom.URL(), "llama", ns, testWindow, "") }
	t.Run("counter reset", func(t *testing.T) {
		t.Parallel()
		checkCounterReset(t, exp, a, policyFor("llm-reset"), variant("llm-reset"))
	})
	t.Run("stale gauges", func(t *testing.T) {
		t.Parallel()
		checkStale(t, exp, a, policyFor("llm-stale"), stale)
	})
	t.Run("KV usage over the window", func(t *testing.T) {
		t.Parallel()
		checkKVWindow(t, exp, a, policyFor("llm-kv"), variant("llm-kv"))
	})
	t.Run("arrival CV", func(t *testing.T) {
		t.Parallel()
		// Its own adapter: a sub-window of 4 scrape intervals (burst's documented minimum) over
		// 15 differences. The shared options' 2 s step holds 2 scrapes, which increase()
		// extrapolates from 1 s to 2 s, and 10 differences: a Poisson reading then centres near
		// 1.4 and lands above 1.8 a quarter of the time.
		cv := metrics.New(metrics.Options{StaleAfter: testStaleAfter, ArrivalStep: 4 * time.Second, ArrivalRange: 60 * time.Second})
		checkArrivalCV(t, cv, policyFor("llm-linear"), policyFor("llm-poisson"))
	})
	t.Run("backfill past the 11,000-point limit", func(t *testing.T) {
		t.Parallel()
		checkBackfill(t, prom, a, policyFor("llm-linear"), variant("llm-linear"))
	})
	t.Run("override with placeholders", func(t *testing.T) {
		t.Parallel()
		extra := "    queries:\n      requestRate: '2 * sum(rate(dynamo_frontend_requests_total{model=\"${model}\",dynamo_namespace=\"${namespace}\"}[${window}]))'\n"
		p := testPolicy(t, prom.URL(), "llama", "llm-linear", testWindow, extra)
		want := 2 * variant("llm-linear").RequestRate
		eventually(t, "overridden request rate", func() string {
			if got := observe(t, a, p).RequestRate; !got.OK || math.Abs(got.V-want) > 0.02*want {
				return fmt.Sprintf("RequestRate = %+v, want %g", got, want)
			}
			return ""
		})
	})
	t.Run("attainment between bucket bounds and overridden", func(t *testing.T) {
		t.Parallel()
		checkAttainment(t, a, prom)
	})
	t.Run("vanished series", func(t *testing.T) {
		t.Parallel()
		exp.Remove("llama", "llm-gone")
		eventually(t, "gauges of a removed deployment empty", func() string {
			o := observe(t, a, policyFor("llm-gone"))
			if o.QueueDepth.OK || !strings.HasPrefix(o.QueueDepth.Missing, metrics.ReasonEmpty) {
				return fmt.Sprintf("QueueDepth = %+v", o.QueueDepth)
			}
			return ""
		})
	})
}

// checkCounterReset resets the counters, as a frontend restart does. A known rate must never be
// negative or above the true rate (the arrivals between the last scrape before the reset and the
// reset are lost, so it may read low for a window; on a loaded machine a late scrape may also
// leave the window with one sample, which is missing, not wrong), and exact again a window later.
func checkCounterReset(t *testing.T, exp *promtest.Exporter, a *metrics.Adapter, p policies.Policy, d promtest.Deployment) {
	exp.ResetCounters(d.Model, d.Namespace)
	upper := d.RequestRate * 1.02
	for range 2 * int(testWindow/time.Second) {
		o := observe(t, a, p)
		if o.RequestRate.OK && (o.RequestRate.V < 0 || o.RequestRate.V > upper) {
			t.Fatalf("after a counter reset RequestRate = %+v, want within [0, %g]", o.RequestRate, upper)
		}
		waitScrape()
	}
	eventually(t, "rate exact again a window after the reset", func() string {
		return diffObservations(expected(d), observe(t, a, p), 0.02)
	})
}

// waitScrape waits about half a scrape interval between two reads of a changing value.
func waitScrape() { <-time.After(500 * time.Millisecond) }

// checkStale freezes the gauges and expects them reported stale while the windowed signals stay.
func checkStale(t *testing.T, exp *promtest.Exporter, a *metrics.Adapter, p policies.Policy, d promtest.Deployment) {
	exp.FreezeGauges(d.Model, d.Namespace, true)
	eventually(t, "frozen gauges reported stale", func() string {
		o := observe(t, a, p)
		var bad []string
		for name, v := range map[string]planner.Value{"QueueDepth": o.QueueDepth, "Inflight": o.Inflight, "KVUsage": o.KVUsage} {
			if v.OK || !strings.HasPrefix(v.Missing, metrics.ReasonStale) {
				bad = append(bad, fmt.Sprintf("%s=%+v", name, v))
			}
		}
		if !o.RequestRate.OK {
			bad = append(bad, fmt.Sprintf("RequestRate=%+v", o.RequestRate))
		}
		return strings.Join(bad, ", ")
	})
	exp.FreezeGauges(d.Model, d.Namespace, false)
	eventually(t, "thawed gauges fresh again", func() string {
		return diffObservations(expected(d), observe(t, a, p), 0.02)
	})
}

// checkKVWindow moves the decode workers' KV usage and expects, while the window holds scrapes of
// both, a reading strictly between the old and the new mean (kvUsage averages the gauge over the
// window; an instant gauge would jump), then the new mean.
func checkKVWindow(t *testing.T, exp *promtest.Exporter, a *metrics.Adapter, p policies.Policy, d promtest.Deployment) {
	reads := func(what string, ok func(float64) bool) {
		eventually(t, what, func() string {
			if v := observe(t, a, p).KVUsage; !v.OK || !ok(v.V) {
				return fmt.Sprintf("KVUsage = %+v", v)
			}
			return ""
		})
	}
	before := expected(d).KVUsage.V
	reads(fmt.Sprintf("KV usage %g before the move", before), func(v float64) bool { return math.Abs(v-before) < 1e-9 })
	moved := d
	moved.Workers = slices.Clone(d.Workers)
	for i := range moved.Workers {
		if moved.Workers[i].Type == "decode" {
			moved.Workers[i].KVUsage = 0.1
		}
	}
	exp.Set(moved)
	after := expected(moved).KVUsage.V
	reads(fmt.Sprintf("KV usage strictly between %g and %g while the window holds both", before, after),
		func(v float64) bool { return v < before-1e-6 && v > after+1e-6 })
	reads(fmt.Sprintf("KV usage %g a window later", after), func(v float64) bool { return math.Abs(v-after) < 1e-9 })
}

// checkArrivalCV expects a CV near 0 for linear arrivals and near 1 for Poisson arrivals. With
// a 1 s scrape, a 4 s step and a 60 s range the Poisson reading centres near 1.15 (increase()
// extrapolates 3 s of scrapes to 4 s, inflating the variance by 4/3) and is noisy: in 4,000
// simulated draws through burst.CV its 1st and 99th percentiles were 0.51 and 2.12, hence the
// wide band; eventually retries, so one stray reading does not fail the test.
func checkArrivalCV(t *testing.T, a *metrics.Adapter, steadyP, poissonP policies.Policy) {
	eventually(t, "arrival CV of linear and Poisson arrivals", func() string {
		s, p := observe(t, a, steadyP).ArrivalCV, observe(t, a, poissonP).ArrivalCV
		if !s.OK || s.V > 0.3 || !p.OK || p.V < 0.5 || p.V > 2.5 {
			return fmt.Sprintf("steady %+v (want < 0.3), Poisson %+v (want 0.5..2.5)", s, p)
		}
		return ""
	})
}

// checkBackfill reads the last 12 s at a 1 ms step (12,001 points: two query_range chunks, as
// Prometheus refuses more than 11,000 points in one). Points on both sides of the chunk boundary
// and at the ends must equal instant queries at the same times (the same PromQL over the same
// stored samples); every point must be NaN or a plausible rate (rate() reads low where a scrape
// was late, but never negative or above the true rate).
func checkBackfill(t *testing.T, prom *promtest.Server, a *metrics.Adapter, p policies.Policy, d promtest.Deployment) {
	// End the range a few scrape intervals in the past: a sample whose scrape is still in flight
	// lands later with a timestamp before "now", so points at the very edge can still change
	// between the range query and the instant queries that check it.
	//
	// The series may be younger than the range when the test starts (the deployments are set
	// just before). Instant reads then say "window not covered" where rate() over the range reads
	// low, so first wait until the whole range lies after the series began.
	eventually(t, "request counter covering the whole backfill range", func() string {
		at := prometheusNow(t, prom).Add(-5*time.Second - 12*time.Second)
		o, err := a.Observe(context.Background(), p, at)
		if err != nil || !o.RequestRate.OK {
			return fmt.Sprintf("at %s: %+v, %v", at.Format(time.RFC3339Nano), o.RequestRate, err)
		}
		return ""
	})
	now := prometheusNow(t, prom).Add(-5 * time.Second)
	rec := &recorder{next: http.DefaultTransport}
	opts := testOptions()
	opts.RoundTripper = rec
	start := now.Add(-12 * time.Second)
	s, err := metrics.New(opts).Backfill(context.Background(), p, policies.SignalRequestRate, start, now, time.Millisecond)
	if err != nil {
		t.Fatalf("Backfill: %v", err)
	}
	if len(s.Values) != 12_001 || len(rec.xs) != 2 {
		t.Fatalf("got %d points in %d queries, want 12001 in 2", len(s.Values), len(rec.xs))
	}
	for i, v := range s.Values {
		if v < 0 || v > 1.02*d.RequestRate {
			t.Errorf("point %d = %g, want NaN or within [0, %g]", i, v, 1.02*d.RequestRate)
		}
	}
	for _, i := range []int{0, 5000, 10_999, 11_000, 12_000} {
		at := start.Add(time.Duration(i) * time.Millisecond)
		o, err := a.Observe(context.Background(), p, at)
		if err != nil {
			t.Fatal(err)
		}
		if v := s.Values[i]; o.RequestRate.OK != !math.IsNaN(v) || o.RequestRate.OK && math.Abs(o.RequestRate.V-v) > 1e-9*v {
			t.Errorf("point %d = %g, but an instant query at its time reads %+v", i, v, o.RequestRate)
		}
	}
}

// prometheusNow asks Prometheus for its current time, so the test reads no clock of its own.
func prometheusNow(t *testing.T, prom *promtest.Server) time.Time {
	c, err := api.NewClient(api.Config{Address: prom.URL()})
	if err != nil {
		t.Fatal(err)
	}
	v, _, _, err := v1.NewAPI(c).Query(context.Background(), "time()", time.Time{})
	if err != nil {
		t.Fatalf("asking Prometheus the time: %v", err)
	}
	sc, ok := v.(*model.Scalar)
	if !ok {
		t.Fatalf("time() returned %s", v.Type())
	}
	return sc.Timestamp.Time()
}

// attaining is a deployment for the attainment signals: TTFT uniform on [0.1, 0.5] s and ITL on
// [0, 10] ms, both ends on bucket bounds or 0, so linear interpolation between bounds is exact.
func attaining() promtest.Deployment {
	d := variant("llm-attain")
	d.TTFT, d.ITL = promtest.Uniform{Lo: 0.1, Hi: 0.5}, promtest.Uniform{Lo: 0, Hi: 0.01}
	return d
}

// checkAttainment reads the attainment signals of attaining() through policies whose targets lie
// between bucket bounds, below the lowest and above the highest, and through overrides (the
// fraction itself, and buckets selected with ${target}), then backfills the first policy's
// ttftAttained. Each expected fraction is the uniform distribution's CDF at the target.
func checkAttainment(t *testing.T, a *metrics.Adapter, prom *promtest.Server) {
	d := attaining()
	const ttftBuckets = "dynamo_frontend_time_to_first_token_seconds_bucket"
	override := "    queries:\n" +
		"      ttftAttained: 'sum(rate(" + ttftBuckets + "{${selector},le=\"${target}\"}[${window}])) / sum(rate(dynamo_frontend_time_to_first_token_seconds_count{${selector}}[${window}]))'\n" +
		"      itlAttained: 'sum by (le) (rate(dynamo_frontend_inter_token_latency_seconds_bucket{${selector}}[${window}]))'\n"
	tests := []struct {
		name         string
		ttft, itl    time.Duration
		extra        string
		wantT, wantI float64
	}{
		// 350 ms lies between the bounds 0.3 and 0.4, read with the tail rate of (0.2, 0.3]
		// (planner.WithinTarget over the uniform CDF at 0.2, 0.3, 0.4: 0.592, below the true
		// 0.625: a uniform is no exponential tail, and the estimate errs low); 3 ms lies below the
		// lowest bound 5 ms, interpolated from 0: 0.003/0.01
		{"between bounds and below the lowest", 350 * time.Millisecond, 3 * time.Millisecond, "",
			planner.WithinTarget(0.2, 0.3, 0.4, 0.25, 0.5, 0.75, 1, 0.35), 0.3},
		// 45 s is above the highest finite bound (30 s), whose bucket holds everything; 7.5 ms
		// lies between 5 and 10 ms
		{"above the highest bound", 45 * time.Second, 7500 * time.Microsecond, "", 1, 0.75},
		// the TTFT override answers the fraction at le="0.3" itself; the ITL one returns buckets
		{"overrides", 300 * time.Millisecond, 2 * time.Millisecond, override, 0.5, 0.2},
	}
	for i, tc := range tests {
		p := testPolicyTargets(t, prom.URL(), d.Model, d.Namespace, testWindow, tc.ttft, tc.itl, tc.extra)
		if i == 0 {
			defer checkAttainmentBackfill(t, a, prom, p, tc.wantT)
		}
		eventually(t, tc.name, func() string {
			o := observe(t, a, p)
			if got := o.TTFTAttained; !got.OK || math.Abs(got.V-tc.wantT) > 0.02*tc.wantT {
				return fmt.Sprintf("TTFTAttained = %+v, want %g", got, tc.wantT)
			}
			if got := o.ITLAttained; !got.OK || math.Abs(got.V-tc.wantI) > 0.02*tc.wantI {
				return fmt.Sprintf("ITLAttained = %+v, want %g", got, tc.wantI)
			}
			return ""
		})
	}
}

// checkAttainmentBackfill reads ttftAttained over the last 5 s at a 1 s step, ending 3 s in the
// past (scrapes still in flight could change the newest points): every known point must be the
// interpolated fraction want, and at least one must be known.
func checkAttainmentBackfill(t *testing.T, a *metrics.Adapter, prom *promtest.Server, p policies.Policy, want float64) {
	end := prometheusNow(t, prom).Add(-3 * time.Second)
	s, err := a.Backfill(context.Background(), p, policies.SignalTTFTAttained, end.Add(-5*time.Second), end, time.Second)
	if err != nil {
		t.Fatalf("Backfill ttftAttained: %v", err)
	}
	known := 0
	for i, v := range s.Values {
		if math.IsNaN(v) {
			continue
		}
		known++
		if math.Abs(v-want) > 0.02*want {
			t.Errorf("backfilled ttftAttained point %d = %g, want %g", i, v, want)
		}
	}
	if known == 0 {
		t.Errorf("backfilled ttftAttained has no known point: %v", s.Values)
	}
}
