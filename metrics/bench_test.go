package metrics_test

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/metrics/promtest"
	"github.com/tidal-planner/tidal/policies"
)

// benchPolicies is the number of policies one benchmark tick observes.
const benchPolicies = 100

// BenchmarkObserveTick100Policies measures one tick (Observe for 100 policies, concurrently, as
// the loop runs them) against a real Prometheus on loopback that scrapes 100 synthetic
// deployments (93 series each, 9,300 in all) every 5 s, with a 30 s window. Target: under 1 s
// per tick.
//
//	go test ./metrics -run '^$' -bench ObserveTick100Policies -benchtime 10x -count 5
func BenchmarkObserveTick100Policies(b *testing.B) {
	exp := promtest.NewExporterT(b)
	ps := make([]policies.Policy, benchPolicies)
	prom := promtest.StartT(b, promtest.Config{Targets: []string{exp.Addr()}, Interval: 5 * time.Second})
	for i := range ps {
		d := variant(fmt.Sprintf("llm-%03d", i))
		exp.Set(d)
		ps[i] = testPolicy(b, prom.URL(), d.Model, d.Namespace, 30*time.Second, "")
	}
	a := metrics.New(metrics.Options{StaleAfter: 15 * time.Second, ArrivalStep: 10 * time.Second, ArrivalRange: 60 * time.Second})
	waitForData(b, a, ps[len(ps)-1])
	promBefore, err := prom.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	ownBefore := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		tick(b, a, ps)
	}
	b.StopTimer()
	promAfter, err := prom.CPUTime()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(ps)), "policies/op")
	b.ReportMetric(float64((promAfter-promBefore).Milliseconds())/float64(b.N), "prom-cpu-ms/op")
	b.ReportMetric(float64((cpuTime(b)-ownBefore).Milliseconds())/float64(b.N), "test-cpu-ms/op")
}

// tick observes every policy concurrently and fails on a configuration error.
func tick(b *testing.B, a *metrics.Adapter, ps []policies.Policy) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() {
			if _, err := a.Observe(context.Background(), p, time.Time{}); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
}

// waitForData waits until Prometheus has a window of data for p: a whole window must pass before
// the coverage check lets the windowed signals through, so the wait is testPoll past the window.
func waitForData(b *testing.B, a *metrics.Adapter, p policies.Policy) {
	limit := testPoll + p.Metrics.Window
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		o, err := a.Observe(context.Background(), p, time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		if o.RequestRate.OK && o.TTFTPercentile.OK && o.KVUsage.OK {
			return
		}
		select {
		case <-deadline.C:
			b.Fatalf("no data after %s: %+v", limit, o)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// BenchmarkObserveCPUPerPolicy measures the adapter's own CPU for one policy's tick: the HTTP
// answers come from recorded Prometheus JSON in memory (no server, no network), so Prometheus's
// CPU is excluded. Reports cpu-ns/op from getrusage (user+system, all goroutines). Target: under
// 1 ms per policy.
//
//	go test ./metrics -run '^$' -bench ObserveCPUPerPolicy -benchtime 5000x -count 5 -benchmem
func BenchmarkObserveCPUPerPolicy(b *testing.B) {
	opts := testOptions()
	opts.RoundTripper = newReplayTransport(loadFixture(b, "ok"))
	a := metrics.New(opts)
	p := fixturePolicy(b, "http://recorded", fixtureCases()[0])
	o, err := a.Observe(context.Background(), p, time.Unix(0, 0))
	if err != nil || !o.RequestRate.OK || !o.ArrivalCV.OK {
		b.Fatalf("replayed observation not healthy: %+v, %v", o, err)
	}
	before := cpuTime(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Observe(context.Background(), p, time.Unix(0, 0)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-before)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
