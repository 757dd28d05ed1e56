package policies

import (
	"fmt"
	"time"
)

// A field whose default is not zero cannot mean zero: applyDefaults reads zero as "absent". So
// that an explicit zero is never silently replaced by the default, explicitZeros rejects one
// that was written in the file (the decoder's line index knows which were).

// zeroable is a field with a non-zero default: its path, whether its value is zero, the default
// and the smallest meaningful value to suggest.
type zeroable struct {
	path      string
	zero      bool
	def, hint string
}

// explicitZeros returns a problem for every field written as zero whose default is not zero.
func explicitZeros(d Document, lines lineIndex) problems {
	var out problems
	for _, z := range zeroables(d) {
		line, written := lines[z.path]
		if !written || !z.zero {
			continue
		}
		out = append(out, &FieldError{Path: z.path, Line: line, Msg: fmt.Sprintf(
			"is 0, which cannot be honoured: an absent or zero value means the default (%s); leave the field out for the default, or set at least %s",
			z.def, z.hint)})
	}
	return out
}

// zeroables lists the fields with non-zero defaults (defaults.go) and their values in d.
func zeroables(d Document) []zeroable {
	s := d.Spec
	dur := func(path string, v Duration, def time.Duration, hint string) zeroable {
		return zeroable{path: path, zero: v.Duration == 0, def: def.String(), hint: hint}
	}
	out := []zeroable{
		{path: "spec.slo.ttft.percentile", zero: s.SLO.TTFT.Percentile == 0, def: fmt.Sprint(DefaultPercentile), hint: "1"},
		{path: "spec.slo.itl.percentile", zero: s.SLO.ITL.Percentile == 0, def: fmt.Sprint(DefaultPercentile), hint: "1"},
		{path: "spec.slo.objective", zero: s.SLO.Objective == 0, def: fmt.Sprint(DefaultObjective), hint: "the higher latency percentile"},
		dur("spec.slo.objectiveWindow", s.SLO.ObjectiveWindow, DefaultObjectiveWindow, "two planning intervals"),
		dur("spec.metrics.prometheus.timeout", s.Metrics.Prometheus.Timeout, DefaultPrometheusTimeout, "1s"),
		dur("spec.metrics.window", s.Metrics.Window, DefaultWindow, "four scrape intervals"),
		dur("spec.planning.interval", s.Planning.Interval, DefaultInterval, "1s"),
		{path: "spec.planning.forecast.coverage", zero: s.Planning.Forecast.Coverage == 0, def: fmt.Sprint(DefaultCoverage), hint: "0.5"},
		dur("spec.planning.forecast.seasonality", s.Planning.Forecast.Seasonality, DefaultSeasonality, "two planning intervals"),
		dur("spec.planning.forecast.history", s.Planning.Forecast.History, DefaultHistory, "one seasonality"),
		dur("spec.stability.scaleDownWindow", s.Stability.ScaleDownWindow, DefaultScaleDownWindow, "1s"),
		dur("spec.stability.startupTimeout", s.Stability.StartupTimeout, DefaultStartupTimeout, "every service's startupTime"),
		{path: "spec.performanceModel.maxBatchedTokens", zero: s.PerformanceModel.MaxBatchedTokens == 0, def: fmt.Sprint(DefaultMaxBatchedTokens), hint: "the engine's --max-num-batched-tokens"},
	}
	for i, svc := range s.Services {
		out = append(out, dur(fmt.Sprintf("spec.services[%d].startupTime", i), svc.StartupTime, DefaultStartupTime, "1s"))
	}
	return out
}
