package metrics

import (
	"slices"
	"strings"

	"github.com/tidal-planner/tidal/planner"
)

// Failure kinds FailureKinds reports (the kind label of tidal_errors_total{stage="observe"}).
const (
	KindUnreachable = "unreachable"       // no HTTP answer: connection refused or reset, DNS
	KindTimeout     = "timeout"           // no answer within the per-tick deadline (a hang)
	KindWarnings    = "warnings"          // Prometheus answered with warnings (a remote store down)
	KindUnexpected  = "unexpected-result" // a query returned a matrix or string (an override)
	// KindPrometheusPrefix is followed by Prometheus's or the client's error type:
	// "prometheus-server_error" (a 5xx), "prometheus-bad_response" (a body that is not
	// Prometheus's JSON), "prometheus-bad_data" (a 400), "prometheus-timeout" (a 503
	// evaluation timeout), ...; "prometheus-error" when the type is not a plain word.
	KindPrometheusPrefix = "prometheus-"
)

// FailureKinds returns the kinds of Prometheus failure behind o's missing values, each once and
// sorted. Missing data (an empty result, NaN, a stale or uncovered series, a cancelled tick) is
// not a failure and is not reported: it shows in tidal_observation_missing instead.
func FailureKinds(o planner.Observations) []string {
	var kinds []string
	add := func(v planner.Value) {
		if k := failureKind(v); k != "" && !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	for _, v := range []planner.Value{o.RequestRate, o.InputTokens, o.OutputTokens, o.TTFT, o.TTFTPercentile,
		o.ITL, o.ITLPercentile, o.QueueDepth, o.Inflight, o.KVUsage, o.ArrivalCV,
		o.InputTokensPercentile, o.OutputTokensPercentile} {
		add(v)
	}
	for _, s := range o.Services {
		add(s.KVUsage)
		add(s.ActiveTokens)
	}
	slices.Sort(kinds)
	return kinds
}

// failureKind classifies one missing value's reason ("" when it is no failure).
func failureKind(v planner.Value) string {
	r := v.Missing
	switch {
	case v.OK:
		return ""
	case strings.HasPrefix(r, ReasonUnreachable):
		return KindUnreachable
	case strings.HasPrefix(r, ReasonTimeout):
		return KindTimeout
	case strings.HasPrefix(r, ReasonWarnings):
		return KindWarnings
	case strings.HasPrefix(r, ReasonUnexpected):
		return KindUnexpected
	case strings.HasPrefix(r, ReasonPrometheusError+" ("):
		typ, _, _ := strings.Cut(strings.TrimPrefix(r, ReasonPrometheusError+" ("), ")")
		if typ == "" || len(typ) > 24 || strings.Trim(typ, "abcdefghijklmnopqrstuvwxyz_") != "" {
			typ = "error"
		}
		return KindPrometheusPrefix + typ
	}
	return ""
}
