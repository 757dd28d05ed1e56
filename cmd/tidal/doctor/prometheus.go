package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// required are the signals without which the planner cannot size and holds every service.
var required = map[policies.Signal]bool{
	policies.SignalRequestRate: true, policies.SignalInputTokens: true, policies.SignalOutputTokens: true,
}

// checkPrometheus checks that the policy's Prometheus answers, then that every signal tidal reads
// returns data, the way tidal run's ticks read them (one Observe).
func checkPrometheus(ctx context.Context, cfg Config, r *Report, p policies.Policy) {
	url := p.Metrics.PrometheusURL
	if err := cfg.Prometheus.Reachable(ctx, url, cfg.Timeout); err != nil {
		r.add(Result{Policy: p.Name, Check: CheckPrometheus, Status: Fail,
			Detail: fmt.Sprintf("%s does not answer: %v", url, err),
			Fix: "check spec.metrics.prometheus.url from where tidal runs (the Service's name, namespace and port, " +
				"a NetworkPolicy); outside the cluster, point --prometheus-url at a port-forward"})
		r.add(Result{Policy: p.Name, Check: CheckSignal, Status: Skip, Detail: "Prometheus does not answer"})
		return
	}
	r.add(Result{Policy: p.Name, Check: CheckPrometheus, Status: OK, Detail: url + " answers"})
	p = checkScrape(ctx, cfg, r, p)
	obsCtx, cancel := withTimeout(ctx, cfg)
	defer cancel()
	obs, err := cfg.Prometheus.Observe(obsCtx, p, time.Time{})
	if err != nil {
		r.add(Result{Policy: p.Name, Check: CheckSignal, Status: Fail, Detail: err.Error(),
			Fix: "fix the query templates in spec.metrics.queries (tidal validate names the bad one)"})
		return
	}
	hint := labelHint(ctx, cfg, p)
	for _, s := range policies.Signals() {
		q, applicable, err := metrics.QueryText(p, s)
		if err != nil || !applicable {
			continue
		}
		for _, svc := range subjects(p, s) {
			v, ok := metrics.SignalValue(obs, s, svc)
			if !ok {
				continue
			}
			r.add(signalResult(p, s, svc, q, v, hint))
		}
	}
}

// checkScrape measures how often Prometheus scrapes the policy's frontend, as tidal run does at
// start, and returns the policy fitted to it (the signals are then read as tidal run reads them).
func checkScrape(ctx context.Context, cfg Config, r *Report, p policies.Policy) policies.Policy {
	sctx, cancel := withTimeout(ctx, cfg)
	defer cancel()
	d, err := cfg.Prometheus.ScrapeInterval(sctx, p, time.Time{})
	if err != nil {
		r.add(Result{Policy: p.Name, Check: CheckScrape, Status: Warn, Detail: err.Error(),
			Fix: fmt.Sprintf("tidal run keeps spec.metrics.window (%s) until it can measure the interval; it must span %d scrapes of the frontend",
				p.Metrics.Window, policies.WindowScrapes)})
		return p
	}
	fitted, note := p.FitScrape(d)
	detail := fmt.Sprintf("Prometheus scrapes the frontend every %s: spec.metrics.window %s spans %d scrapes or more", d, p.Metrics.Window, policies.WindowScrapes)
	if note != "" {
		detail = note + " (tidal run does this itself; write the wider window into the policy to say so)"
	}
	r.add(Result{Policy: p.Name, Check: CheckScrape, Status: OK, Detail: detail})
	return fitted
}

// subjects lists what a signal is read for: "" for deployment-level signals, each engine service
// for the per-worker ones.
func subjects(p policies.Policy, s policies.Signal) []string {
	if s != policies.SignalKVUsage && s != metrics.SignalActiveTokens {
		return []string{""}
	}
	var out []string
	for _, svc := range p.Services() {
		if svc.Role != policies.RoleFrontend {
			out = append(out, svc.Name)
		}
	}
	return out
}

// signalResult judges one signal's value.
func signalResult(p policies.Policy, s policies.Signal, service, q string, v planner.Value, hint string) Result {
	subject := string(s)
	if service != "" {
		subject += " (" + service + ")"
	}
	res := Result{Policy: p.Name, Check: CheckSignal, Subject: subject, Query: q}
	if v.OK {
		res.Status, res.Detail = OK, fmt.Sprintf("%g", v.V)
		return res
	}
	res.Detail = v.Missing
	_, overridden := p.Query(s)
	switch {
	case strings.HasPrefix(v.Missing, metrics.ReasonNaN) && required[s]:
		res.Status = Warn
		res.Fix = "the series exist but no request completed in the window (spec.metrics.window): the planner holds " +
			"every service until traffic arrives; send a few requests, or accept it for an idle deployment"
	case required[s]:
		res.Status = Fail
		res.Fix = "the planner cannot size without " + string(s) + " and holds every service; " + emptyFix(p, overridden, hint)
	default:
		res.Status = Warn
		res.Fix = effect(s) + "; " + emptyFix(p, overridden, hint)
	}
	return res
}

// effect says what the planner loses without an optional signal.
func effect(s policies.Signal) string {
	switch s {
	case policies.SignalTTFT, policies.SignalITL, policies.SignalTTFTPercentile, policies.SignalITLPercentile:
		return "without it the planner cannot check the SLO nor learn capacity online"
	case policies.SignalQueueDepth, policies.SignalInflight:
		return "without it the queue guard cannot react to a backlog"
	case policies.SignalArrivalCV:
		return "without it the planner assumes Poisson arrivals (it needs about 30 minutes of history)"
	case policies.SignalTTFTAttained, policies.SignalITLAttained:
		return "without it the SLO error budget cannot be measured, so its risk levels stay where they are (never loosened)"
	}
	return "without it the planner sizes with less evidence"
}

// emptyFix says where to look when a query returns nothing.
func emptyFix(p policies.Policy, overridden bool, hint string) string {
	if overridden {
		return "run the query in Prometheus's UI and fix spec.metrics.queries (the override)"
	}
	return fmt.Sprintf("the default queries select {%s}; %s", metrics.SelectorOf(p), hint)
}

// labelHint says which model and dynamo_namespace values Prometheus holds, so a wrong
// spec.metrics.model or dynamoNamespace is obvious.
func labelHint(ctx context.Context, cfg Config, p policies.Policy) string {
	seen, err := cfg.Prometheus.FrontendSeries(ctx, p.Metrics.PrometheusURL, cfg.Timeout)
	if err != nil {
		return "listing the frontend's label values failed too: " + err.Error()
	}
	if len(seen) == 0 {
		return "Prometheus holds no dynamo_frontend_requests_total series at all: check that it scrapes the Dynamo " +
			"frontend (the operator's PodMonitor needs the Prometheus Operator; a plain Prometheus needs a scrape job for port 8000)"
	}
	pairs := make([]string, 0, len(seen))
	for i, l := range seen {
		if i == 5 {
			pairs = append(pairs, fmt.Sprintf("and %d more", len(seen)-5))
			break
		}
		pairs = append(pairs, fmt.Sprintf("model=%q dynamo_namespace=%q", l.Model, l.DynamoNamespace))
	}
	return "Prometheus holds dynamo_frontend_requests_total for " + strings.Join(pairs, ", ") +
		": set spec.metrics.model and spec.metrics.dynamoNamespace to match one"
}
