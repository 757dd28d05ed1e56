package policies

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"time"
)

// validate checks a defaulted document and returns every problem, in document order. It is pure
// apart from time.LoadLocation, which reads the system time zone database when there is one (the
// embedded copy otherwise).
func validate(d *Document) problems {
	var p problems
	validateEnvelope(&p, d)
	s := &d.Spec
	validateTarget(&p, &s.Target)
	checkEnum(&p, "spec.mode", s.Mode, Modes())
	validateServices(&p, s)
	validateSLO(&p, &s.SLO)
	validateObjective(&p, s)
	validateMetrics(&p, &s.Metrics)
	validatePlanning(&p, &s.Planning)
	validateStability(&p, s)
	validateBudget(&p, s)
	validateSchedules(&p, s)
	if s.PerformanceModel.Profile == "" && !*s.PerformanceModel.Learn {
		p.addf("spec.performanceModel", "learn is false and no profile is given: set a profile or learn: true")
	}
	if n := s.PerformanceModel.MaxBatchedTokens; n < 0 {
		p.addf("spec.performanceModel.maxBatchedTokens", "%d is negative: it is the engine's prefill token budget per step (vLLM --max-num-batched-tokens, e.g. 8192)", n)
	}
	return p
}

var (
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// checkName requires a Kubernetes DNS-1123 label (maxLen 63) or subdomain (253).
func checkName(p *problems, path, v string, subdomain bool) {
	re, maxLen, what := dnsLabel, 63, "DNS-1123 label"
	if subdomain {
		re, maxLen, what = dnsSubdomain, 253, "DNS-1123 subdomain"
	}
	switch {
	case v == "":
		p.addf(path, "is required")
	case len(v) > maxLen || !re.MatchString(v):
		p.addf(path, "%q is not a valid %s (lower-case letters, digits and '-', at most %d characters)", v, what, maxLen)
	}
}

func checkEnum[S ~string](p *problems, path string, v S, allowed []S) {
	if v == "" {
		p.addf(path, "is required: one of %s", quoteList(allowed))
		return
	}
	if slices.Contains(allowed, v) {
		return
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	p.addf(path, "%q is not one of %s%s", string(v), quoteList(allowed), didYouMean(string(v), names))
}

func validateEnvelope(p *problems, d *Document) {
	switch d.APIVersion {
	case APIVersion:
	case "":
		p.addf("apiVersion", "is required: %q", APIVersion)
	default:
		p.addf("apiVersion", "%q is not supported: use %q", d.APIVersion, APIVersion)
	}
	switch d.Kind {
	case Kind:
	case "":
		p.addf("kind", "is required: %q", Kind)
	default:
		p.addf("kind", "%q is not supported: use %q", d.Kind, Kind)
	}
	checkName(p, "metadata.name", d.Metadata.Name, true)
}

func validateTarget(p *problems, t *TargetSpec) {
	checkName(p, "spec.target.namespace", t.Namespace, false)
	checkName(p, "spec.target.deployment", t.Deployment, true)
	checkEnum(p, "spec.target.topology", t.Topology, Topologies())
}

// checkPositive requires d > 0.
func checkPositive(p *problems, path string, d Duration) {
	if d.Duration <= 0 {
		p.addf(path, "%s must be greater than 0", d.Duration)
	}
}

// checkFinite reports NaN and infinities and says whether v is finite.
func checkFinite(p *problems, path string, v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		p.addf(path, "%g is not a finite number", v)
		return false
	}
	return true
}

func validateSLO(p *problems, s *SLOSpec) {
	for _, l := range []struct {
		name string
		slo  LatencySLOSpec
	}{{"ttft", s.TTFT}, {"itl", s.ITL}} {
		path := "spec.slo." + l.name
		if l.slo.Target.Duration == 0 {
			p.addf(path+".target", "is required: a duration such as \"300ms\"")
		} else {
			checkPositive(p, path+".target", l.slo.Target)
		}
		if checkFinite(p, path+".percentile", l.slo.Percentile) && (l.slo.Percentile <= 0 || l.slo.Percentile >= 100) {
			p.addf(path+".percentile", "%g is outside (0, 100)", l.slo.Percentile)
		}
	}
}

// validateObjective checks the attainment objective and its window. The objective counts requests
// that meet both latency targets, so it can be no looser than either percentile: a p90 TTFT target
// already asks 90% of requests to meet it, and an error budget above 10% would let the budget
// controller loosen below what the latency SLO itself asks.
func validateObjective(p *problems, s *Spec) {
	o := s.SLO.Objective
	const path = "spec.slo.objective"
	if checkFinite(p, path, o) {
		switch {
		case o <= 0 || o >= 100:
			p.addf(path, "%g is outside (0, 100): the percent of requests that must meet both latency targets, e.g. 99", o)
		default:
			for _, l := range []struct {
				name string
				pct  float64
			}{{"ttft", s.SLO.TTFT.Percentile}, {"itl", s.SLO.ITL.Percentile}} {
				if l.pct > o && l.pct < 100 {
					p.addf(path, "%g is below spec.slo.%s.percentile %g: the objective counts requests meeting both targets, so it must be at least every percentile (set it to %g or more, or lower the percentile)",
						o, l.name, l.pct, l.pct)
				}
			}
		}
	}
	w := s.SLO.ObjectiveWindow.Duration
	const wpath = "spec.slo.objectiveWindow"
	switch {
	case w <= 0:
		p.addf(wpath, "%s must be greater than 0", w)
	case w > MaxObjectiveWindow:
		p.addf(wpath, "%s is longer than %s (30 days): an error budget that old no longer steers anything", w, MaxObjectiveWindow)
	default:
		for _, b := range []struct {
			name string
			d    time.Duration
		}{{"spec.planning.interval", s.Planning.Interval.Duration}, {"spec.metrics.window", s.Metrics.Window.Duration}} {
			if b.d > 0 && w <= b.d {
				p.addf(wpath, "%s is not longer than %s %s: the objective is judged over many observations (24h is usual)", w, b.name, b.d)
			}
		}
	}
}

func validateMetrics(p *problems, m *MetricsSpec) {
	u, err := url.Parse(m.Prometheus.URL)
	switch {
	case err != nil:
		p.addf("spec.metrics.prometheus.url", "%q is not a URL: %v", m.Prometheus.URL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		p.addf("spec.metrics.prometheus.url", "%q must start with http:// or https://", m.Prometheus.URL)
	case u.Host == "":
		p.addf("spec.metrics.prometheus.url", "%q has no host", m.Prometheus.URL)
	}
	checkPositive(p, "spec.metrics.prometheus.timeout", m.Prometheus.Timeout)
	checkPositive(p, "spec.metrics.window", m.Window)
	names := make([]string, 0, len(Signals()))
	for _, s := range Signals() {
		names = append(names, string(s))
	}
	for _, k := range sortedKeys(m.Queries) {
		path := joinPath("spec.metrics.queries", string(k))
		if !slices.Contains(Signals(), k) {
			p.addf(path, "%q is not a known signal: one of %s%s", string(k), quoteList(Signals()), didYouMean(string(k), names))
		} else if m.Queries[k] == "" {
			p.addf(path, "query is empty: remove the key to use the built-in query")
		}
	}
}

func validatePlanning(p *problems, pl *PlanningSpec) {
	checkPositive(p, "spec.planning.interval", pl.Interval)
	if h := *pl.Headroom; checkFinite(p, "spec.planning.headroom", h) && h < 0 {
		p.addf("spec.planning.headroom", "%g is negative", h)
	}
	f := &pl.Forecast
	checkEnum(p, "spec.planning.forecast.method", f.Method, ForecastMethods())
	if checkFinite(p, "spec.planning.forecast.coverage", f.Coverage) && (f.Coverage <= 0 || f.Coverage >= 1) {
		p.addf("spec.planning.forecast.coverage", "%g is outside (0, 1)", f.Coverage)
	}
	checkPositive(p, "spec.planning.forecast.seasonality", f.Seasonality)
	checkPositive(p, "spec.planning.forecast.history", f.History)
	if pl.Interval.Duration > 0 && f.Seasonality.Duration > 0 && f.Seasonality.Duration < 2*pl.Interval.Duration {
		p.addf("spec.planning.forecast.seasonality", "%s is shorter than two planning intervals (%s)", f.Seasonality.Duration, 2*pl.Interval.Duration)
	}
	if f.Seasonality.Duration > 0 && f.History.Duration > 0 && f.History.Duration < f.Seasonality.Duration {
		p.addf("spec.planning.forecast.history", "%s is shorter than seasonality %s", f.History.Duration, f.Seasonality.Duration)
	}
}

func validateStability(p *problems, s *Spec) {
	st := &s.Stability
	checkPositive(p, "spec.stability.scaleDownWindow", st.ScaleDownWindow)
	if t := *st.ScaleDownTolerance; checkFinite(p, "spec.stability.scaleDownTolerance", t) && (t < 0 || t >= 1) {
		p.addf("spec.stability.scaleDownTolerance", "%g is outside [0, 1): it is the fraction of the window's highest planned load a smaller count must carry on top (0.1 = 10%%; 0 = none)", t)
	}
	if st.MaxStepUp < 0 {
		p.addf("spec.stability.maxStepUp", "%d is negative (0 means no limit)", st.MaxStepUp)
	}
	if st.MaxStepDown < 0 {
		p.addf("spec.stability.maxStepDown", "%d is negative", st.MaxStepDown)
	}
	for _, c := range []struct {
		name string
		d    time.Duration
	}{{"scaleUpCooldown", st.ScaleUpCooldown.Duration}, {"scaleDownCooldown", st.ScaleDownCooldown.Duration}} {
		if c.d < 0 {
			p.addf("spec.stability."+c.name, "%s is negative", c.d)
		}
	}
	checkPositive(p, "spec.stability.startupTimeout", st.StartupTimeout)
	checkPositive(p, "spec.stability.conflictBackoff", st.ConflictBackoff)
	if w, d := s.Metrics.Window.Duration, st.ScaleDownWindow.Duration; w > 0 && d > 0 && d <= w {
		// A window Prometheus covers only in part (a restart, a series gap) reads low for up to a
		// window; a longer scale-down window keeps such a reading from ever scaling down.
		p.addf("spec.stability.scaleDownWindow", "%s is not longer than spec.metrics.window %s: a lower need must outlast one metrics window before a scale-down (set it above %s)",
			d, w, w)
	}
	for i, svc := range s.Services {
		if st.StartupTimeout.Duration > 0 && svc.StartupTime.Duration > st.StartupTimeout.Duration {
			p.addf(fmt.Sprintf("spec.services[%d].startupTime", i), "%s is longer than spec.stability.startupTimeout %s",
				svc.StartupTime.Duration, st.StartupTimeout.Duration)
		}
	}
}

// sortedKeys returns m's keys in ascending order, so problems come out deterministically.
func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
