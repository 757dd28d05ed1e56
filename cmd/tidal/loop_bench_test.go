package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	fc "github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// benchPolicies is how many policies one process drives in the overhead benchmark, and
// benchInterval their planning interval (issue 7's target: 500 policies at 15 s under 5% of one
// core and 200 MB RSS).
const (
	benchPolicies = 500
	benchInterval = 15 * time.Second
)

// benchObserver returns healthy observations whose request rate follows a daily sine.
type benchObserver struct{}

func (benchObserver) Observe(_ context.Context, p policies.Policy, now time.Time) (planner.Observations, error) {
	k := planner.Known
	rate := dailyRate(now)
	return planner.Observations{Time: now, Window: time.Minute, RequestRate: k(rate), InputTokens: k(2000),
		OutputTokens: k(200), TTFT: k(0.2), TTFTPercentile: k(0.3), ITL: k(0.015), ITLPercentile: k(0.02),
		QueueDepth: k(0), Inflight: k(rate), KVUsage: k(0.4), ArrivalCV: k(1),
		Services: []planner.ServiceObservation{{Name: "Worker", KVUsage: k(0.4), ActiveTokens: k(100)}}}, nil
}

// dailyRate is 5..15 requests/s over a day.
func dailyRate(t time.Time) float64 {
	day := float64(t.Unix()%86400) / 86400
	return 10 + 5*math.Sin(2*math.Pi*day)
}

// benchCluster holds every policy's replicas and applies decisions to them.
type benchCluster struct {
	mu   sync.Mutex
	reps map[string]int32
}

func (c *benchCluster) Replicas(_ context.Context, p policies.Policy) ([]planner.ServiceObservation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := max(c.reps[p.Name], 1)
	return []planner.ServiceObservation{{Name: "Worker", Desired: n, Ready: n, ReplicasKnown: true, GPUsPerReplica: 1}}, nil
}

func (c *benchCluster) Apply(_ context.Context, p policies.Policy, d planner.Decision, _ bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reps[p.Name] = d.Services[0].Desired
	return nil
}

// benchHistory returns a full forecast history of the daily sine (the start-up backfill). Like
// the metrics adapter's backfill, every call materialises fresh series (three of
// History/Interval points), so the benchmark pays the start-up transient tidal run does.
type benchHistory struct{}

func (benchHistory) History(_ context.Context, p policies.Policy, now time.Time) (planner.LoadHistory, error) {
	n := int(p.Planning.Forecast.History / p.Planning.Interval)
	h := planner.LoadHistory{RequestRate: make([]float64, n), InputTokens: make([]float64, n), OutputTokens: make([]float64, n)}
	for i := range n {
		h.RequestRate[i] = dailyRate(now.Add(-time.Duration(n-i) * p.Planning.Interval))
		h.InputTokens[i], h.OutputTokens[i] = 2000, 200
	}
	return h, nil
}

// counted forwards ticks to the ops recorder and counts them.
type counted struct {
	rec  *ops.Recorder
	done chan struct{}
}

func (c counted) Record(t planner.Tick) {
	c.rec.Record(t)
	if t.Outcome != "" || len(t.Errors) == 0 {
		c.done <- struct{}{}
	}
}

func benchPolicy(b *testing.B, i int, forecast string) policies.Policy {
	b.Helper()
	p, err := policies.Parse([]byte(fmt.Sprintf(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: p%03d}
spec:
  target: {namespace: llm, deployment: d%03d, topology: aggregated}
  services:
    - {name: Worker, role: aggregated, minReplicas: 1, maxReplicas: 16, gpusPerReplica: 1, startupTime: 2m}
  slo: {ttft: {target: 500ms}, itl: {target: 30ms}}
  metrics: {model: m}
  planning: {interval: %s, forecast: %s}
`, i, i, benchInterval, forecast)), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkLoop500Policies drives 500 policies at a 15 s interval through the real Loop, Plan
// (default forecaster) and ops recorder, with fake Prometheus and cluster ports, on a fake clock:
// one op is one interval (500 ticks). It reports the CPU time (user+system, from getrusage) per
// policy tick, the duty cycle that implies on one core at 15 s, the process's peak RSS (VmHWM,
// the start-up backfill included) and, at the end, its RSS, the heap in use after a GC and the
// RSS once debug.FreeOSMemory has returned the free heap to the system. Run
// each case in its own process (-run '^$' -bench 'BenchmarkLoop500Policies/<case>$'): peak RSS
// is per process. The garbage collector runs at tidal run's target (defaultGCPercent) unless GOGC
// is set.
func BenchmarkLoop500Policies(b *testing.B) {
	// tidal run's garbage-collector target (tuneRuntime) unless GOGC is set, so that the RSS
	// measured is what tidal run holds; GOGC=100 measures the Go default.
	if pct, _ := gcPercent(os.Getenv); pct > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(pct))
	}
	for _, tc := range []struct {
		name     string
		forecast string // the policies' spec.planning.forecast
		backfill bool   // warm the forecasters with their full history at start
		scrape   bool   // serve /metrics once per interval, as Prometheus scraping at 15 s would
	}{
		{"no-forecaster", "", false, false},
		{"default-forecast/cold", "{}", false, false},
		{"linear-1h-season/backfilled", "{method: linear, seasonality: 1h, history: 2h}", true, false},
		// The default forecaster (auto, daily season) warmed with its full 14 days at 15 s: 80,640
		// points per signal, 1,500 forecasters (issue 11's target: under 200 MB RSS).
		{"default-forecast/backfilled-14d", "{}", true, false},
		// The same, scraped: a scrape's rendered series are live until encoded, so a collection
		// during one counts them. The name keeps the case out of the pattern above.
		{"default-forecast/backfilled-14d-scraped", "{}", true, true},
	} {
		b.Run(tc.name, func(b *testing.B) { benchLoop(b, tc.forecast, tc.backfill, tc.scrape) })
	}
}

func benchLoop(b *testing.B, forecast string, backfill, scrape bool) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	clk := testingclock.NewFakeClock(start)
	ps := make([]policies.Policy, benchPolicies)
	for i := range ps {
		ps[i] = benchPolicy(b, i, cmp.Or(forecast, "{}"))
	}
	rec := counted{rec: ops.NewRecorder(ops.Options{}), done: make(chan struct{}, benchPolicies)}
	cfg := planner.LoopConfig{Clock: clk, Observer: benchObserver{}, Replicas: &benchCluster{reps: map[string]int32{}},
		Recorder: rec, Logger: slog.New(slog.DiscardHandler)}
	cfg.Applier = cfg.Replicas.(*benchCluster)
	if forecast == "" { // the loop, Plan and the recorder alone: no forecaster at all
		cfg.NewState = func(p policies.Policy) planner.State {
			return planner.NewState(p, planner.Options{NewForecaster: func(policies.Forecast, time.Duration) fc.Forecaster { return nil }})
		}
	}
	if backfill {
		cfg.History = benchHistory{}
	}
	loop, err := planner.NewLoop(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := loop.Update(ps); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = loop.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	round := func() {
		for range benchPolicies {
			<-rec.done
		}
	}
	round() // first ticks (after the backfill)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		for clk.Waiters() < benchPolicies {
			// yield until every worker waits for its next tick
			runtime.Gosched()
		}
		clk.Step(benchInterval)
		round()
		if scrape {
			scrapeMetrics(b, rec.rec)
		}
	}
	b.StopTimer()
	perTick := (cpuTime(b) - cpu0) / time.Duration(b.N*benchPolicies)
	b.ReportMetric(float64(perTick.Nanoseconds()), "cpu-ns/policy-tick")
	b.ReportMetric(100*float64(perTick*benchPolicies)/float64(benchInterval), "%core-at-15s")
	b.ReportMetric(peakRSSMB(b), "peak-RSS-MB")
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/1e6, "heap-inuse-MB")
	writeHeapProfile(b)
	b.ReportMetric(rssMB(b, "VmRSS:"), "RSS-MB")
	debug.FreeOSMemory() // what stays once the free heap (the backfill's garbage) is returned
	b.ReportMetric(rssMB(b, "VmRSS:"), "RSS-after-free-MB")
}

// scrapeMetrics serves one GET /metrics from the ops handler, as Prometheus would (text format,
// uncompressed), and discards the body.
func scrapeMetrics(b *testing.B, rec *ops.Recorder) {
	w := &discardResponse{header: http.Header{}}
	ops.Handler(rec, ops.Checks{}).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.code != 0 && w.code != http.StatusOK {
		b.Fatalf("GET /metrics: %d", w.code)
	}
}

// discardResponse is an http.ResponseWriter that keeps the status and drops the body.
type discardResponse struct {
	header http.Header
	code   int
}

func (d *discardResponse) Header() http.Header         { return d.header }
func (d *discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardResponse) WriteHeader(code int)        { d.code = code }

// writeHeapProfile writes a heap profile of the running loop to the file
// TIDAL_BENCH_HEAPPROFILE names, if set: the test binary's -memprofile is written after the
// benchmark has stopped its loop, when what it held is garbage.
func writeHeapProfile(b *testing.B) {
	path := os.Getenv("TIDAL_BENCH_HEAPPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSSMB reads VmHWM (peak resident set) from /proc/self/status, in MB; 0 where absent.
func peakRSSMB(b *testing.B) float64 { return rssMB(b, "VmHWM:") }

// rssMB reads a /proc/self/status field given in kB (VmHWM:, VmRSS:), in MB; 0 where absent.
func rssMB(b *testing.B, field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb / 1024
		}
	}
	return 0
}
