package metrics

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// Reasons a value is missing. Each planner.Value.Missing starts with one of these, followed by
// details (": ..."). Callers should not need to branch on them: any missing value means hold.
const (
	ReasonEmpty           = "empty result"
	ReasonNaN             = "NaN"
	ReasonInf             = "infinite"
	ReasonStale           = "stale"
	ReasonAmbiguous       = "ambiguous result"
	ReasonUnexpected      = "unexpected result type"
	ReasonWarnings        = "prometheus warnings"
	ReasonTimeout         = "timeout"
	ReasonCanceled        = "canceled"
	ReasonUnreachable     = "prometheus unreachable"
	ReasonPrometheusError = "prometheus error"
	ReasonNotApplicable   = "not applicable"
	// ReasonCoverage: the request counter does not cover the whole window (Prometheus restarted
	// or lost data, the series was absent for a while, or it is younger than the window), so a
	// rate over the window would read low.
	ReasonCoverage = "window not covered"
	// ReasonReset: the request counter reset within the window (a frontend restarted).
	ReasonReset = "counter reset"
)

// coverageSignal names the window-coverage part of a batched query (not a policy signal).
const coverageSignal policies.Signal = "tidal:windowCoverage"

// windowed reports whether a signal is a rate over the metrics window, which reads low over a
// partly covered window and so takes the coverage check.
func windowed(s policies.Signal) bool {
	switch s {
	case policies.SignalRequestRate, policies.SignalInputTokens, policies.SignalOutputTokens,
		policies.SignalTTFT, policies.SignalTTFTPercentile, policies.SignalITL, policies.SignalITLPercentile,
		SignalInputTokensPercentile, SignalOutputTokensPercentile, SignalTTFTAttained, SignalITLAttained:
		return true
	}
	return false
}

// observed lists the signals one Observe queries, in a stable order.
func observed() []policies.Signal { return policies.Signals() }

// grouped reports whether a signal's result is attributed per worker_type.
func grouped(s policies.Signal) bool {
	return s == policies.SignalKVUsage || s == SignalActiveTokens
}

// Observe reads one tick's observations for a policy, as of now (the evaluation time of every
// query; the zero time means Prometheus's own current time). The signals that use their default
// query go to Prometheus as one batched query; each overridden signal is a query of its own.
// These requests run concurrently under the Adapter's bound and share one deadline: the policy's
// metrics.prometheus.timeout (or Options.Timeout), so a slow override cannot hold the others.
// Whatever fails becomes a missing Value with its reason; Observe itself fails only when the
// policy's queries or Prometheus URL are invalid, which no retry can fix. Services carry only the
// Prometheus part (KVUsage, ActiveTokens): replica counts are the cluster reader's to fill in.
func (a *Adapter) Observe(ctx context.Context, p policies.Policy, now time.Time) (planner.Observations, error) {
	return a.observe(ctx, targetOf(p), now)
}

// request is one HTTP query of a tick: a batch of default queries, or one override.
type request struct {
	query   string
	signals []policies.Signal
}

// observe is Observe over the adapter's view of a policy.
func (a *Adapter) observe(ctx context.Context, t target, now time.Time) (planner.Observations, error) {
	reqs, results, err := a.requests(t)
	if err != nil {
		return planner.Observations{}, fmt.Errorf("observing %s: %w", t.metrics.PrometheusURL, err)
	}
	client, err := a.api(t.metrics.PrometheusURL)
	if err != nil {
		return planner.Observations{}, err
	}
	timeout := a.timeout(t.metrics)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var mu sync.Mutex
	do := func(req request) {
		rs := a.run(ctx, client, req, now, timeout)
		mu.Lock()
		for i, s := range req.signals {
			results[s] = rs[i]
		}
		mu.Unlock()
	}
	if len(reqs) == 1 { // the common case, no overrides: no goroutine (and no stack to grow)
		do(reqs[0])
	} else {
		var wg sync.WaitGroup
		for _, req := range reqs {
			wg.Go(func() { do(req) })
		}
		wg.Wait()
	}
	return assemble(t, now, results, a.opts.StaleAfter), nil
}

// requests expands a target's queries into the requests of one tick, and returns the results
// already known (signals that need no query).
func (a *Adapter) requests(t target) ([]request, map[policies.Signal]result, error) {
	results := map[policies.Signal]result{}
	var reqs []request
	batch := request{}
	parts := []string{}
	for _, s := range observed() {
		if r, skip := notApplicable(t, s); skip {
			results[s] = r
			continue
		}
		_, overridden := t.overrides(s)
		if _, known := a.queries[s]; !known && !overridden {
			// A signal newer than this adapter: never let it break the batch.
			results[s] = result{reason: ReasonNotApplicable + ": no default query for " + string(s)}
			continue
		}
		q, err := a.query(t, s)
		if err != nil {
			return nil, nil, err
		}
		if overridden {
			reqs = append(reqs, request{query: q, signals: []policies.Signal{s}})
			continue
		}
		parts = append(parts, "label_replace("+q+`, "`+LabelSignal+`", "`+string(s)+`", "", "")`)
		batch.signals = append(batch.signals, s)
	}
	if checked := coveredSignals(t, batch.signals); len(checked) > 0 {
		q, err := a.query(t, coverageSignal)
		if err != nil {
			return nil, nil, err
		}
		parts = append(parts, "label_replace("+q+`, "`+LabelSignal+`", "`+string(coverageSignal)+`", "", "")`)
		batch.signals = append(batch.signals, coverageSignal)
	}
	if len(parts) > 0 {
		batch.query = strings.Join(parts, " or ")
		reqs = append(reqs, batch)
	}
	return reqs, results, nil
}

// coveredSignals returns the windowed signals among batched (default-query) ones: those the
// coverage check of the frontend request counter applies to. Overridden queries read other
// series, which the check cannot vouch for, so they are not checked.
func coveredSignals(t target, batched []policies.Signal) []policies.Signal {
	var out []policies.Signal
	for _, s := range batched {
		if windowed(s) {
			out = append(out, s)
		}
	}
	return out
}

// notApplicable reports signals that need no query for this target (a percentile the SLO does
// not set).
func notApplicable(t target, s policies.Signal) (result, bool) {
	ttft := s == policies.SignalTTFTPercentile || s == SignalInputTokensPercentile
	itl := s == policies.SignalITLPercentile || s == SignalOutputTokensPercentile
	if ttft && t.ttftQ <= 0 || itl && t.itlQ <= 0 {
		return result{reason: ReasonNotApplicable + ": the SLO sets no percentile"}, true
	}
	return result{}, false
}

// assemble builds the observations from the per-signal results.
func assemble(t target, now time.Time, r map[policies.Signal]result, stale time.Duration) planner.Observations {
	cov, checked := r[coverageSignal]
	v := func(s policies.Signal) planner.Value {
		if _, overridden := t.overrides(s); checked && windowed(s) && !overridden {
			return r[s].covered(cov, t.metrics.Window, stale)
		}
		return r[s].single(stale)
	}
	attained := func(s policies.Signal, target float64) planner.Value {
		v := r[s].attained(target, stale)
		if _, overridden := t.overrides(s); checked && !overridden {
			return coveredValue(v, cov, t.metrics.Window)
		}
		return v
	}
	kv, active := r[policies.SignalKVUsage], r[SignalActiveTokens]
	o := planner.Observations{
		Time:           now,
		Window:         t.metrics.Window,
		RequestRate:    v(policies.SignalRequestRate),
		InputTokens:    v(policies.SignalInputTokens),
		OutputTokens:   v(policies.SignalOutputTokens),
		TTFT:           v(policies.SignalTTFT),
		TTFTPercentile: v(policies.SignalTTFTPercentile),
		ITL:            v(policies.SignalITL),
		ITLPercentile:  v(policies.SignalITLPercentile),
		QueueDepth:     v(policies.SignalQueueDepth),
		Inflight:       v(policies.SignalInflight),
		KVUsage:        kv.attribute(policies.RoleDecode, stale),
		ArrivalCV:      v(policies.SignalArrivalCV),

		InputTokensPercentile:  v(SignalInputTokensPercentile),
		OutputTokensPercentile: v(SignalOutputTokensPercentile),
		TTFTAttained:           attained(SignalTTFTAttained, t.ttftTarget),
		ITLAttained:            attained(SignalITLAttained, t.itlTarget),
	}
	for _, s := range t.services {
		o.Services = append(o.Services, planner.ServiceObservation{
			Name:         s.Name,
			KVUsage:      kv.attribute(s.Role, stale),
			ActiveTokens: active.attribute(s.Role, stale),
		})
	}
	return o
}

// run executes one request under the concurrency bound and returns the result of each of its
// signals, in order. A batch's samples are told apart by their tidal_signal label.
func (a *Adapter) run(ctx context.Context, c v1.API, req request, now time.Time, timeout time.Duration) []result {
	out := make([]result, len(req.signals))
	fail := func(reason string) []result {
		for i := range out {
			out[i] = result{reason: reason}
		}
		return out
	}
	if err := a.acquire(ctx); err != nil {
		return fail(errReason(err, timeout))
	}
	defer a.release()
	val, warnings, _, err := c.Query(ctx, req.query, now, evalOptions(timeout)...)
	if err != nil {
		return fail(errReason(err, timeout))
	}
	if len(warnings) > 0 {
		return fail(ReasonWarnings + ": " + clip(strings.Join(warnings, "; ")))
	}
	if len(req.signals) == 1 {
		out[0] = parse(val, req.signals[0])
		return out
	}
	vec, ok := val.(model.Vector)
	if !ok {
		return fail(fmt.Sprintf("%s: %s (want an instant vector)", ReasonUnexpected, val.Type()))
	}
	bySignal := map[policies.Signal]model.Vector{}
	for _, smp := range vec {
		s := policies.Signal(smp.Metric[LabelSignal])
		bySignal[s] = append(bySignal[s], smp)
	}
	for i, s := range req.signals {
		out[i] = parse(bySignal[s], s)
	}
	return out
}

// group is the value and age parts of one worker_type's result ("" when unlabelled).
type group struct {
	value, age       float64
	hasValue, hasAge bool
	duplicate        bool
	// The window-coverage parts (see windowCoverage), present when the query returns them.
	gap, samples, resets          float64
	hasGap, hasSamples, hasResets bool
	// buckets are an attainment signal's samples by le (attainment.go); badLe is a le that did
	// not parse as a number.
	buckets []bucketRate
	badLe   string
}

// result is one query's outcome: a reason when the whole query failed, else its groups.
type result struct {
	reason string
	groups map[string]*group
}

// parse reads an instant-query result of signal s. Samples are grouped by worker_type for the
// per-worker signals (else all into ""), and split into value and age parts by the tidal_part
// label; an attainment signal's samples with an le label are its buckets.
func parse(v model.Value, s policies.Signal) result {
	byWorker, byLe := grouped(s), attainmentSignal(s)
	r := result{groups: map[string]*group{}}
	switch v := v.(type) {
	case *model.Scalar:
		r.groups[""] = &group{value: float64(v.Value), hasValue: true}
	case model.Vector:
		for _, smp := range v {
			key := ""
			if byWorker {
				key = string(smp.Metric[LabelWorkerType])
			}
			g := r.groups[key]
			if g == nil {
				g = &group{}
				r.groups[key] = g
			}
			if le, ok := smp.Metric[labelLe]; byLe && ok {
				g.addBucket(string(le), float64(smp.Value))
				continue
			}
			g.add(string(smp.Metric[LabelPart]), float64(smp.Value))
		}
	default:
		r.reason = fmt.Sprintf("%s: %s (want an instant vector or scalar)", ReasonUnexpected, v.Type())
	}
	return r
}

// add records one sample of a part ("age", or "value"/"" for the value).
func (g *group) add(part string, v float64) {
	switch part {
	case "age":
		g.age, g.hasAge = max(g.age, v), true
		return
	case "gap":
		g.gap, g.hasGap = max(g.gap, v), true
		return
	case "samples":
		g.samples, g.hasSamples = max(g.samples, v), true
		return
	case "resets":
		g.resets, g.hasResets = g.resets+v, true
		return
	}
	g.duplicate = g.duplicate || g.hasValue
	g.value, g.hasValue = v, true
}

// single returns the value of a signal that is not split by worker_type.
func (r result) single(stale time.Duration) planner.Value {
	if r.reason != "" {
		return planner.Unknown(r.reason)
	}
	if len(r.groups) == 0 {
		return planner.Unknown(ReasonEmpty + ": no series (absent, or marked stale by Prometheus)")
	}
	return r.groups[""].check(stale)
}

// covered is single for a windowed signal: a known value becomes missing when the window's
// coverage (cov, the windowCoverage parts) says the request counter did not cover the window.
// A value already missing keeps its own reason.
func (r result) covered(cov result, window, stale time.Duration) planner.Value {
	return coveredValue(r.single(stale), cov, window)
}

// coveredValue makes a windowed signal's known value v missing when the window's coverage says
// the request counter did not cover the window.
func coveredValue(v planner.Value, cov result, window time.Duration) planner.Value {
	if !v.OK || cov.reason != "" {
		return v
	}
	if why := cov.groups[""].uncovered(window); why != "" {
		return planner.Unknown(why)
	}
	return v
}

// uncovered returns why a window's coverage parts make its rates unusable, or "" when the
// request counter covered the window: at least 2 samples, no reset, and no step of the window
// where its newest sample was more than two scrape intervals old (the interval estimated as
// the covered part of the window over the sample count).
func (g *group) uncovered(window time.Duration) string {
	w := window.Seconds()
	switch {
	case g == nil || !g.hasSamples || g.samples < 2:
		n := 0.0
		if g != nil {
			n = g.samples
		}
		return fmt.Sprintf("%s: %.0f samples of the request counter in the %s window (need 2)", ReasonCoverage, n, window)
	case g.resets > 0:
		return fmt.Sprintf("%s: the request counter reset %.0f time(s) in the %s window (a frontend restarted): rates read low until the window has passed",
			ReasonReset, g.resets, window)
	case !g.hasGap || math.IsNaN(g.gap) || g.gap >= w:
		return fmt.Sprintf("%s: the request counter had no live series for part of the %s window (new series, removed, or Prometheus lost data)",
			ReasonCoverage, window)
	}
	if spacing := (w - g.gap) / (g.samples - 1); g.gap > 2*spacing {
		return fmt.Sprintf("%s: no new sample of the request counter for %.1fs of the %s window (about %.1fs between scrapes): Prometheus or the target was down",
			ReasonCoverage, g.gap, window, spacing)
	}
	return ""
}

// attribute returns the value for a service of the given role: prefill reads the
// worker_type="prefill" group, decode the "decode" group, aggregated the "decode" group or the
// unlabelled one; a frontend has no workers.
func (r result) attribute(role policies.Role, stale time.Duration) planner.Value {
	if role == policies.RoleFrontend {
		return planner.Unknown(ReasonNotApplicable + ": a frontend has no engine workers")
	}
	if r.reason != "" {
		return planner.Unknown(r.reason)
	}
	keys := []string{string(role)}
	if role == policies.RoleAggregated || role == policies.RoleDecode {
		keys = []string{"decode", ""}
	}
	for _, k := range keys {
		if g, ok := r.groups[k]; ok {
			return g.check(stale)
		}
	}
	return planner.Unknown(fmt.Sprintf("%s: no series with worker_type=%q", ReasonEmpty, keys[0]))
}

// staleValue is the missing value of a group whose oldest input sample is age seconds old, past
// the stale limit.
func staleValue(age float64, stale time.Duration) planner.Value {
	return planner.Unknown(fmt.Sprintf("%s: oldest input sample is %.0fs old (limit %s)", ReasonStale, age, stale))
}

// check turns a group into a Value, rejecting duplicates, NaN, infinities and stale inputs.
func (g *group) check(stale time.Duration) planner.Value {
	switch {
	case g == nil:
		return planner.Unknown(ReasonEmpty + ": no unlabelled series")
	case g.duplicate:
		return planner.Unknown(ReasonAmbiguous + ": several series; aggregate them in the query")
	case !g.hasValue && g.hasAge && g.age > stale.Seconds():
		// a window-averaged gauge (meanGauge) has no value once its samples are older than the
		// window, while the lookback still finds the stale sample: say stale, not empty
		return staleValue(g.age, stale)
	case !g.hasValue:
		return planner.Unknown(ReasonEmpty + ": no value series")
	case math.IsNaN(g.value):
		return planner.Unknown(ReasonNaN + ": e.g. 0/0 when no request completed in the window")
	case math.IsInf(g.value, 0):
		return planner.Unknown(fmt.Sprintf("%s: %v (e.g. a quantile in the +Inf bucket)", ReasonInf, g.value))
	case g.hasAge && g.age > stale.Seconds():
		return staleValue(g.age, stale)
	}
	return planner.Known(g.value)
}
