package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/tidal-planner/tidal/planner/burst"
	"github.com/tidal-planner/tidal/policies"
)

// Options tune an Adapter. The zero value is usable: every zero field takes the default noted.
type Options struct {
	// MaxConcurrent bounds the queries in flight to Prometheus across all Observe and Backfill
	// calls of the Adapter (default 16).
	MaxConcurrent int
	// Timeout is the per-tick deadline used when a policy sets no metrics.prometheus.timeout
	// (default 5s). Every query of one Observe shares it.
	Timeout time.Duration
	// StaleAfter is the age beyond which a gauge's oldest input sample makes the value missing
	// (default 2m; a few scrape intervals is right).
	StaleAfter time.Duration
	// ArrivalStep is the sub-window over which arrivals are counted for the arrival CV
	// (default 1m; use at least 4 scrape intervals). ArrivalRange is the range those counts are
	// averaged over (default 30m; at least 10 ArrivalSteps).
	ArrivalStep  time.Duration
	ArrivalRange time.Duration
	// ScrapeRange is the range ScrapeInterval counts samples over (default DefaultScrapeRange;
	// at least two scrape intervals).
	ScrapeRange time.Duration
	// RoundTripper carries the HTTP requests (default: a pooled transport sized to MaxConcurrent).
	RoundTripper http.RoundTripper
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 16
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 2 * time.Minute
	}
	if o.ArrivalStep <= 0 {
		o.ArrivalStep = burst.DefaultStep
	}
	if o.ArrivalRange <= 0 {
		o.ArrivalRange = burst.DefaultRange
	}
	if o.ScrapeRange <= 0 {
		o.ScrapeRange = DefaultScrapeRange
	}
	if o.RoundTripper == nil {
		o.RoundTripper = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        4 * o.MaxConcurrent,
			MaxIdleConnsPerHost: o.MaxConcurrent,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	return o
}

// Adapter reads planner observations from Prometheus. It is safe for concurrent use; one Adapter
// serves any number of policies (it keeps one API client per Prometheus URL).
type Adapter struct {
	opts    Options
	sem     chan struct{}
	queries map[policies.Signal]string

	mu      sync.Mutex
	clients map[string]v1.API
}

// New returns an Adapter with the given options.
func New(opts Options) *Adapter {
	opts = opts.withDefaults()
	return &Adapter{
		opts:    opts,
		sem:     make(chan struct{}, opts.MaxConcurrent),
		queries: defaultQueries(),
		clients: map[string]v1.API{},
	}
}

// api returns the client for a Prometheus URL, creating it on first use.
func (a *Adapter) api(address string) (v1.API, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clients[address]; ok {
		return c, nil
	}
	c, err := api.NewClient(api.Config{Address: address, RoundTripper: a.opts.RoundTripper})
	if err != nil {
		return nil, fmt.Errorf("creating a Prometheus client for %q: %w", address, err)
	}
	a.clients[address] = v1.NewAPI(c)
	return a.clients[address], nil
}

// DefaultQuery returns the built-in PromQL template of a signal (placeholders unexpanded).
func DefaultQuery(s policies.Signal) (string, bool) {
	q, ok := defaultQueries()[s]
	return q, ok
}

// target is what the adapter needs of a policy, gathered once per call.
type target struct {
	metrics policies.Metrics
	ttftQ   float64
	itlQ    float64
	// ttftTarget and itlTarget are the SLO latency targets, seconds.
	ttftTarget float64
	itlTarget  float64
	services   []policies.Service
	overrides  func(policies.Signal) (string, bool)
}

// targetOf extracts the adapter's view of a policy.
func targetOf(p policies.Policy) target {
	return target{
		metrics:    p.Metrics,
		ttftQ:      p.SLO.TTFT.Percentile / 100,
		itlQ:       p.SLO.ITL.Percentile / 100,
		ttftTarget: p.SLO.TTFT.Target.Seconds(),
		itlTarget:  p.SLO.ITL.Target.Seconds(),
		services:   p.Services(),
		overrides:  p.Query,
	}
}

// query returns the expanded PromQL of a signal for a target: the override if any, else the
// default.
func (a *Adapter) query(t target, s policies.Signal) (string, error) {
	tmpl, ok := t.overrides(s)
	if !ok {
		tmpl = a.queries[s]
	}
	if s == coverageSignal {
		tmpl = windowCoverage(mRequests + "{${selector}}")
	}
	p := params{
		window:    t.metrics.Window,
		coverStep: t.metrics.Window / coverageSteps,
		// resetRange: see windowCoverage.
		resetRange: t.metrics.Window + t.metrics.Window/2,
		cvStep:     a.opts.ArrivalStep,
		cvRange:    max(a.opts.ArrivalRange, t.metrics.Window),
		model:      t.metrics.Model,
		namespace:  t.metrics.DynamoNamespace,
	}
	switch s {
	case policies.SignalTTFTPercentile, SignalInputTokensPercentile:
		p.quantile = t.ttftQ
	case policies.SignalITLPercentile, SignalOutputTokensPercentile:
		p.quantile = t.itlQ
	case SignalTTFTAttained:
		p.target = t.ttftTarget
	case SignalITLAttained:
		p.target = t.itlTarget
	}
	return expand(tmpl, s, p)
}

// timeout is the deadline of one call's queries for a policy's metrics: its
// metrics.prometheus.timeout, else Options.Timeout.
func (a *Adapter) timeout(m policies.Metrics) time.Duration {
	if m.PrometheusTimeout > 0 {
		return m.PrometheusTimeout
	}
	return a.opts.Timeout
}

// acquire takes a slot of the concurrency bound, or fails when ctx ends first.
func (a *Adapter) acquire(ctx context.Context) error {
	select {
	case a.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release gives back a slot taken by acquire.
func (a *Adapter) release() { <-a.sem }

// evalOptions asks Prometheus to give up evaluating after the per-tick timeout, in whole
// seconds (its API parses no fractional Go durations); shorter timeouts are left to the client.
func evalOptions(timeout time.Duration) []v1.Option {
	if t := timeout.Truncate(time.Second); t > 0 {
		return []v1.Option{v1.WithTimeout(t)}
	}
	return nil
}

// errReason turns a query error into the reason of a missing value.
func errReason(err error, timeout time.Duration) string {
	var perr *v1.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s: no answer within the per-tick deadline (%s)", ReasonTimeout, timeout)
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	case errors.As(err, &perr):
		// The client decodes Prometheus's JSON error only for 400 and 422; a 503 (evaluation
		// timeout, too many queries) arrives as a generic server error with the JSON as Detail.
		var body struct {
			ErrorType string `json:"errorType"`
			Error     string `json:"error"`
		}
		if json.Unmarshal([]byte(perr.Detail), &body) == nil && body.ErrorType != "" {
			return fmt.Sprintf("%s (%s): %s", ReasonPrometheusError, body.ErrorType, clip(body.Error))
		}
		return fmt.Sprintf("%s (%s): %s", ReasonPrometheusError, perr.Type, clip(strings.TrimSpace(perr.Msg+" "+perr.Detail)))
	}
	return fmt.Sprintf("%s: %s", ReasonUnreachable, clip(err.Error()))
}

// clip bounds a message carried into a reason (a proxy may answer with a whole HTML page).
func clip(s string) string {
	const n = 200
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// CheckQueries expands every query of a policy (defaults and overrides) without contacting
// Prometheus, and returns the first template error: what Observe would refuse. It lets
// `tidal validate` reject an unknown placeholder before the policy runs.
func CheckQueries(p policies.Policy) error {
	_, _, err := New(Options{RoundTripper: http.DefaultTransport}).requests(targetOf(p))
	return err
}
