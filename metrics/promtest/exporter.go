package promtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Uniform is a uniform distribution on [Lo, Hi]. With Lo and Hi on bucket bounds of the
// exporter's histogram (see LatencyBuckets, ITLBuckets, TokenBuckets), histogram_quantile's linear
// interpolation within each bucket is exact, so Quantile is what Prometheus answers.
type Uniform struct{ Lo, Hi float64 }

// Mean is (Lo+Hi)/2.
func (u Uniform) Mean() float64 { return (u.Lo + u.Hi) / 2 }

// Quantile is Lo + q(Hi-Lo) for 0 <= q <= 1.
func (u Uniform) Quantile(q float64) float64 { return u.Lo + q*(u.Hi-u.Lo) }

// CDF is P(X <= x). With Lo and Hi on bucket bounds, the linear interpolation between bucket
// bounds is exact, so CDF(target) is what the adapter's attainment signals read.
func (u Uniform) CDF(x float64) float64 {
	switch {
	case x >= u.Hi:
		return 1
	case x < u.Lo:
		return 0
	case u.Hi == u.Lo:
		return 1
	}
	return (x - u.Lo) / (u.Hi - u.Lo)
}

// Frontend is one Dynamo frontend replica's gauges.
type Frontend struct {
	Queued, Inflight float64
}

// Worker is one engine worker. Type is the worker_type label ("prefill", "decode", or "" for
// none, as an aggregated worker may have).
type Worker struct {
	ID, Type            string
	KVUsage             float64 // dynamo_component_gpu_cache_usage_percent, 0..1
	ActivePrefillTokens float64
	ActiveDecodeBlocks  float64
}

// Deployment is the load and state of one model in one dynamo_namespace, as the synthetic
// exporter emits it. Every request observes one sample of each histogram.
type Deployment struct {
	Model, Namespace string
	// RequestRate is in requests/s. With Poisson set, arrivals between two scrapes are drawn
	// from a Poisson distribution (seeded by Seed); otherwise they grow exactly linearly.
	RequestRate float64
	Poisson     bool
	Seed        uint64
	// ExplicitTimestamps makes the gauges carry the scrape time as an explicit timestamp.
	// Prometheus then never marks them stale (no staleness markers for such series), which is
	// what FreezeGauges needs to produce a stale series.
	ExplicitTimestamps bool

	InputTokens, OutputTokens, TTFT, ITL Uniform

	Frontends []Frontend
	Workers   []Worker
}

// LatencyBuckets is the layout of time_to_first_token_seconds (20 bounds, 50 ms to 30 s, the
// scale of vLLM's own TTFT buckets).
func LatencyBuckets() []float64 {
	return []float64{0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.5, 2, 3, 4, 6, 8, 10, 15, 20, 30}
}

// ITLBuckets is the layout of inter_token_latency_seconds (15 bounds, 5 ms to 1 s).
func ITLBuckets() []float64 {
	return []float64{0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1}
}

// TokenBuckets is the layout of input/output_sequence_tokens (14 bounds, 250 to 32000 tokens).
func TokenBuckets() []float64 {
	return []float64{250, 500, 750, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 24000, 32000}
}

// histogram accumulates a synthetic histogram.
type histogram struct {
	count, sum float64
	buckets    []float64
}

// deployment is a Deployment with its accumulated counters.
type deployment struct {
	spec     Deployment
	rng      *rand.Rand
	last     time.Time
	requests float64
	hists    [4]histogram // input, output, ttft, itl
	frozenAt time.Time    // zero unless gauges are frozen
}

// Exporter serves synthetic Dynamo metrics at http://Addr()/metrics.
type Exporter struct {
	now func() time.Time
	srv *http.Server
	ln  net.Listener

	mu   sync.Mutex
	deps map[[2]string]*deployment
}

// NewExporter starts an exporter on a free loopback port. The caller must Close it.
func NewExporter() (*Exporter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the synthetic exporter: %w", err)
	}
	e := &Exporter{now: time.Now, ln: ln, deps: map[[2]string]*deployment{}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{e})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

// NewExporterT is NewExporter for tests; it registers Close as a cleanup.
func NewExporterT(t testing.TB) *Exporter {
	t.Helper()
	e, err := NewExporter()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// Addr is the exporter's host:port.
func (e *Exporter) Addr() string { return e.ln.Addr().String() }

// Close stops serving.
func (e *Exporter) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stopping the synthetic exporter: %w", err)
	}
	return nil
}

// Set adds a deployment or replaces its load; counters keep growing from where they are.
func (e *Exporter) Set(d Deployment) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := [2]string{d.Model, d.Namespace}
	dep := e.deps[k]
	if dep == nil {
		dep = &deployment{last: e.now(), rng: rand.New(rand.NewPCG(d.Seed, d.Seed^0x9e3779b97f4a7c15))}
		e.deps[k] = dep
	} else {
		dep.advance(e.now())
	}
	dep.spec = d
}

// Remove stops emitting a deployment's series (Prometheus then marks them stale).
func (e *Exporter) Remove(modelName, namespace string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.deps, [2]string{modelName, namespace})
}

// ResetCounters sets a deployment's counters and histograms back to zero, as a frontend
// restart does.
func (e *Exporter) ResetCounters(modelName, namespace string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if dep := e.deps[[2]string{modelName, namespace}]; dep != nil {
		dep.last, dep.requests, dep.hists = e.now(), 0, [4]histogram{}
	}
}

// FreezeGauges stops (frozen) or resumes the timestamps of a deployment's gauges. With
// ExplicitTimestamps set, a frozen gauge keeps its last sample, which Prometheus still returns
// for its 5-minute lookback while it grows older: a stale series without a staleness marker.
func (e *Exporter) FreezeGauges(modelName, namespace string, frozen bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if dep := e.deps[[2]string{modelName, namespace}]; dep != nil {
		dep.frozenAt = time.Time{}
		if frozen {
			dep.frozenAt = e.now()
		}
	}
}

// advance accumulates the arrivals since the last call.
func (d *deployment) advance(now time.Time) {
	dt := now.Sub(d.last).Seconds()
	if dt <= 0 {
		return
	}
	d.last = now
	n := d.spec.RequestRate * dt
	if d.spec.Poisson {
		n = poisson(d.rng, n)
	}
	d.requests += n
	s := d.spec
	for i, u := range []Uniform{s.InputTokens, s.OutputTokens, s.TTFT, s.ITL} {
		h := &d.hists[i]
		bounds := bucketsOf(i)
		if h.buckets == nil {
			h.buckets = make([]float64, len(bounds))
		}
		h.count += n
		h.sum += n * u.Mean()
		for j, b := range bounds {
			h.buckets[j] += n * u.CDF(b)
		}
	}
}

// bucketsOf returns the layout of histogram i (input, output, ttft, itl).
func bucketsOf(i int) []float64 {
	switch i {
	case 2:
		return LatencyBuckets()
	case 3:
		return ITLBuckets()
	}
	return TokenBuckets()
}

// poisson draws from a Poisson distribution with mean m (normal approximation above 50).
func poisson(r *rand.Rand, m float64) float64 {
	if m <= 0 {
		return 0
	}
	if m > 50 {
		return math.Max(0, math.Round(m+math.Sqrt(m)*r.NormFloat64()))
	}
	l, k, p := math.Exp(-m), 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
