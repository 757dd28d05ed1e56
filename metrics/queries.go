package metrics

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/tidal-planner/tidal/planner/burst"
	"github.com/tidal-planner/tidal/policies"
)

// SignalActiveTokens is policies.SignalActiveTokens: prefill tokens per prefill worker and decode
// KV blocks per decode (or aggregated) worker, attributed by worker_type.
const SignalActiveTokens = policies.SignalActiveTokens

// SignalInputTokensPercentile and SignalOutputTokensPercentile are the policies signals of the
// SLO percentiles of input and output lengths (${quantile} is the TTFT percentile for input, the
// ITL percentile for output).
const (
	SignalInputTokensPercentile  = policies.SignalInputTokensPercentile
	SignalOutputTokensPercentile = policies.SignalOutputTokensPercentile
)

// SignalTTFTAttained and SignalITLAttained are the policies signals of the fraction of the
// window's observations within the SLO's TTFT and ITL targets (see attainment.go).
const (
	SignalTTFTAttained = policies.SignalTTFTAttained
	SignalITLAttained  = policies.SignalITLAttained
)

// Labels the adapter reads in query results.
const (
	// LabelWorkerType attributes a sample to prefill or decode workers (Dynamo's label).
	LabelWorkerType = "worker_type"
	// LabelPart marks which part of a result a sample is: "value" (or no label) for the value,
	// "age" for the age in seconds of the oldest input sample (see the stale-series rule).
	LabelPart = "tidal_part"
	// LabelSignal names the signal of each sample in a batched query.
	LabelSignal = "tidal_signal"
)

// Dynamo metric names the default queries read (DESIGN.md §1).
const (
	frontend       = "dynamo_frontend_"
	mRequests      = frontend + "requests_total"
	mInputTokens   = frontend + "input_sequence_tokens"
	mOutputTokens  = frontend + "output_sequence_tokens"
	mTTFT          = frontend + "time_to_first_token_seconds"
	mITL           = frontend + "inter_token_latency_seconds"
	mQueued        = frontend + "queued_requests"
	mInflight      = frontend + "inflight_requests"
	mActivePrefill = frontend + "worker_active_prefill_tokens"
	mActiveDecode  = frontend + "worker_active_decode_blocks"
	mGPUCacheUsage = "dynamo_component_gpu_cache_usage_percent"
)

// defaultQueries are the PromQL templates used when a policy does not override a signal. The
// placeholders are listed in expand's documentation.
func defaultQueries() map[policies.Signal]string {
	mean := func(h string) string {
		return "sum(rate(" + h + "_sum{${selector}}[${window}])) / sum(rate(" + h + "_count{${selector}}[${window}]))"
	}
	quantile := func(h string) string {
		return "histogram_quantile(${quantile}, sum by (le) (rate(" + h + "_bucket{${selector}}[${window}])))"
	}
	// The attainment signals read the buckets' rates by le; the adapter interpolates them at the
	// SLO target (attainment.go), which PromQL cannot do over classic buckets.
	buckets := func(h string) string {
		return "sum by (le) (rate(" + h + "_bucket{${selector}}[${window}]))"
	}
	return map[policies.Signal]string{
		policies.SignalRequestRate:    "sum(rate(" + mRequests + "{${selector}}[${window}]))",
		policies.SignalInputTokens:    mean(mInputTokens),
		policies.SignalOutputTokens:   mean(mOutputTokens),
		SignalInputTokensPercentile:   quantile(mInputTokens),
		SignalOutputTokensPercentile:  quantile(mOutputTokens),
		policies.SignalTTFT:           mean(mTTFT),
		policies.SignalTTFTPercentile: quantile(mTTFT),
		policies.SignalITL:            mean(mITL),
		policies.SignalITLPercentile:  quantile(mITL),
		policies.SignalQueueDepth:     gauge("sum", "", mQueued+"{${selector}}"),
		policies.SignalInflight:       gauge("sum", "", mInflight+"{${selector}}"),
		policies.SignalKVUsage:        meanGauge("avg", LabelWorkerType, mGPUCacheUsage+"{${nsselector}}"),
		SignalActiveTokens: gauge("avg", LabelWorkerType,
			mActivePrefill+`{worker_type="prefill",${selector}}`,
			mActiveDecode+`{worker_type!="prefill",${selector}}`),
		policies.SignalArrivalCV: burst.Query(mRequests + "{${selector}}"), // sqrt of the Allan factor, see planner/burst
		SignalTTFTAttained:       buckets(mTTFT),
		SignalITLAttained:        buckets(mITL),
	}
}

// coverageSteps is how many evaluation steps the window-coverage query checks per window.
const coverageSteps = 20

// windowCoverage returns the query behind the coverage check of the windowed signals (see
// docs/metrics.md). Over the window it reads, of the counter's series, three parts:
//
//	gap      the largest age, in seconds, of the newest sample at any of coverageSteps steps
//	         of the window (a step with no live series counts as a gap as old as the epoch)
//	samples  the sample count of the best-covered series
//	resets   the number of counter resets over one and a half windows (the first sample after a
//	         reset still makes rate() read low while it is the oldest one in the window)
//
// rate() over a window the counter covers only in part (Prometheus restarted, a series was
// absent, a frontend restarted) reads low but valid; these parts let the adapter mark such a
// window missing instead. timestamp() applies to the selector itself so it returns each sample's
// own time, also inside the subquery.
func windowCoverage(counter string) string {
	part := func(q, name string) string {
		return "label_replace(" + q + `, "` + LabelPart + `", "` + name + `", "", "")`
	}
	return part("max_over_time((time() - (max(timestamp("+counter+")) or vector(0)))[${window}:${coverstep}])", "gap") +
		" or " + part("max(count_over_time("+counter+"[${window}]))", "samples") +
		" or " + part("sum(resets("+counter+"[${resetrange}]))", "resets")
}

// gauge returns a query whose result holds two parts per group: the aggregated value of the
// selectors, and the age in seconds of the oldest sample that went into it, so the adapter can
// reject stale series that Prometheus's 5-minute lookback would still return. timestamp() is
// applied to each selector directly because only then does it return the sample's own time.
func gauge(agg, group string, selectors ...string) string {
	return valueAndAge(agg, group, strings.Join(selectors, " or "), selectors)
}

// meanGauge is gauge with the value averaged over the metrics window (avg_over_time) before it
// is aggregated: a gauge that moves with every batch (KV-cache usage) is then read over the same
// window as the latencies it is compared with, not as of one scrape. The age part is gauge's (the
// oldest of the series' latest samples), so a series that stopped reporting is still rejected as
// stale.
func meanGauge(agg, group, selector string) string {
	return valueAndAge(agg, group, "avg_over_time("+selector+"[${window}])", []string{selector})
}

// valueAndAge is the two-part query of gauge and meanGauge: agg by (group) of value, labelled
// "value", or the age of the oldest latest sample of the selectors, labelled "age".
func valueAndAge(agg, group, value string, selectors []string) string {
	by := ""
	if group != "" {
		by = " by (" + group + ")"
	}
	ages := make([]string, len(selectors))
	for i, s := range selectors {
		ages[i] = "timestamp(" + s + ")"
	}
	return "label_replace(" + agg + by + " (" + value + `), "` + LabelPart +
		`", "value", "", "") or label_replace(time() - min` + by + " (" + strings.Join(ages, " or ") +
		`), "` + LabelPart + `", "age", "", "")`
}

// params are the values substituted into a query template.
type params struct {
	window, cvStep, cvRange time.Duration
	// coverStep is the step of the window-coverage subquery (window / coverageSteps);
	// resetRange the range it counts counter resets over (1.5 windows).
	coverStep, resetRange time.Duration
	model, namespace      string
	// quantile is the SLO percentile / 100 for the percentile signals; 0 otherwise.
	quantile float64
	// target is the SLO latency target in seconds for the attainment signals; 0 otherwise.
	target float64
}

// expand substitutes the placeholders of a query template:
//
//	${window}      the policy's metrics window as a PromQL duration (e.g. 1m)
//	${model}       the model name, escaped for a PromQL double-quoted string
//	${namespace}   the dynamo_namespace, escaped likewise
//	${selector}    model="<model>",dynamo_namespace="<namespace>" (empty parts omitted)
//	${nsselector}  dynamo_namespace="<namespace>" (worker metrics may lack the model label)
//	${quantile}    the SLO percentile as a fraction (percentile signals only)
//	${target}      the SLO latency target in seconds (attainment signals only)
//	${cvstep}      the arrival-count sub-window; ${cvrange} the range it is averaged over
//	${coverstep}   the window divided by 20, the step of the window-coverage check
//	${resetrange}  1.5 windows, the range the window-coverage check counts counter resets over
//
// An unknown placeholder, or ${quantile} or ${target} in another signal's query, is an error.
func expand(tmpl string, s policies.Signal, p params) (string, error) {
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("query for %s: unterminated placeholder at %q", s, rest[i:])
		}
		b.WriteString(rest[:i])
		v, err := placeholder(rest[i+2:i+j], s, p)
		if err != nil {
			return "", fmt.Errorf("query for %s: %w", s, err)
		}
		b.WriteString(v)
		rest = rest[i+j+1:]
	}
}

// placeholder returns the text of one placeholder.
func placeholder(name string, s policies.Signal, p params) (string, error) {
	switch name {
	case "window":
		return promDuration(p.window), nil
	case "cvstep":
		return promDuration(p.cvStep), nil
	case "cvrange":
		return promDuration(p.cvRange), nil
	case "coverstep":
		return promDuration(p.coverStep), nil
	case "resetrange":
		return promDuration(p.resetRange), nil
	case "model":
		return escape(p.model), nil
	case "namespace":
		return escape(p.namespace), nil
	case "selector":
		return selector(p.model, p.namespace), nil
	case "nsselector":
		return selector("", p.namespace), nil
	case "quantile":
		if !percentileSignal(s) {
			return "", fmt.Errorf("${quantile} is defined only for %s, %s, %s and %s", policies.SignalTTFTPercentile,
				policies.SignalITLPercentile, SignalInputTokensPercentile, SignalOutputTokensPercentile)
		}
		return strconv.FormatFloat(p.quantile, 'g', -1, 64), nil
	case "target":
		if !attainmentSignal(s) {
			return "", fmt.Errorf("${target} is defined only for %s and %s", SignalTTFTAttained, SignalITLAttained)
		}
		return strconv.FormatFloat(p.target, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("unknown placeholder ${%s}", name)
}

// percentileSignal reports whether a signal's query takes ${quantile}.
func percentileSignal(s policies.Signal) bool {
	switch s {
	case policies.SignalTTFTPercentile, policies.SignalITLPercentile, SignalInputTokensPercentile, SignalOutputTokensPercentile:
		return true
	}
	return false
}

// selector builds the label matchers for the model and namespace, omitting empty ones.
func selector(modelName, namespace string) string {
	var parts []string
	if modelName != "" {
		parts = append(parts, `model="`+escape(modelName)+`"`)
	}
	if namespace != "" {
		parts = append(parts, `dynamo_namespace="`+escape(namespace)+`"`)
	}
	return strings.Join(parts, ",")
}

// escape quotes s for the inside of a PromQL double-quoted string.
func escape(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// promDuration formats d in PromQL's duration syntax (whole milliseconds, at least 1ms).
func promDuration(d time.Duration) string {
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return model.Duration(d.Truncate(time.Millisecond)).String()
}
