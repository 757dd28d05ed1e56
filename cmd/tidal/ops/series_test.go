package ops

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// vecSeries is the per-policy half of the metrics as they were before policyCollector
// (client_golang metric vectors, updated at every tick), kept as the reference the collector's
// exposition must match.
type vecSeries struct {
	desired, current, ready, need, held, conflicting *prometheus.GaugeVec
	bounds, plannedLoad, observed, missing           *prometheus.GaugeVec
	gpus, shortfall, lastTick, sloTarget             *prometheus.GaugeVec
	budget, lastOK, objective                        *prometheus.GaugeVec
	risk, reserveQuantile, burn, spent               *prometheus.GaugeVec
	reasons, errors, decisions                       *prometheus.CounterVec
}

func newVecSeries(reg prometheus.Registerer) *vecSeries {
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "tidal", Name: name, Help: help}, labels)
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tidal", Name: name, Help: help}, labels)
	}
	svc := serviceLabels
	with := func(l ...string) []string { return append(append([]string(nil), svc...), l...) }
	m := &vecSeries{
		desired:         gauge("desired_replicas", "Replicas the last decision wants.", svc...),
		current:         gauge("current_replicas", "Replicas requested in the cluster (DGDSA spec.replicas) when the decision was made.", svc...),
		ready:           gauge("ready_replicas", "Ready replicas (DGD status) when the decision was made.", svc...),
		need:            gauge("raw_need_replicas", "Replica need from sizing, before guards, stabilisation, budget and clamps.", svc...),
		held:            gauge("held", "1 when missing observations made the planner hold the service's count.", svc...),
		conflicting:     gauge("conflicting_writer", "1 while tidal leaves a service alone because another writer changed its replicas (Event ConflictingWriter); 0 otherwise.", svc...),
		bounds:          gauge("replica_bounds", "Effective min and max replicas (schedules applied).", with(lBound)...),
		plannedLoad:     gauge("planned_load", "Load the service was sized for: max(observed x reserve, forecast point value) x (1 + headroom); rates per second.", with(lSignal)...),
		observed:        gauge("observed", "Last observed signal value (seconds, per second, tokens, or 0..1); absent when missing.", lPolicy, lSignal),
		missing:         gauge("observation_missing", "1 when the signal was missing at the last tick.", lPolicy, lSignal),
		gpus:            gauge("desired_gpus", "GPUs the desired replicas use.", lPolicy),
		shortfall:       gauge("budget_shortfall_gpus", "GPUs the services needed beyond the budget.", lPolicy),
		lastTick:        gauge("last_tick_timestamp_seconds", "Unix time of the policy's last tick.", lPolicy),
		sloTarget:       gauge("slo_target_seconds", "The policy's latency target, by the observed signal it bounds (ttftPercentile, itlPercentile) and its percentile.", lPolicy, lSignal, "percentile"),
		budget:          gauge("budget_gpus", "The policy's GPU budget (spec.budget.maxGPUs); absent when unbounded.", lPolicy),
		objective:       gauge("slo_objective_ratio", "The policy's attainment objective (spec.slo.objective) as a ratio: the fraction of requests that must meet both latency targets over spec.slo.objectiveWindow; 1 - it is the error budget.", lPolicy),
		lastOK:          gauge("last_tick_succeeded", "1 when the policy's last tick decided and nothing it read or wrote failed, else 0.", lPolicy),
		reasons:         counter("decision_reasons_total", "Reasons recorded by decisions, by pipeline step and code.", with(lStep, lCode)...),
		errors:          counter("errors_total", "Tick errors by stage and kind.", lPolicy, lStage, lKind),
		decisions:       counter("decisions_total", "Ticks by outcome (applied, no-change, dry-run, follower, failed).", lPolicy, lOutcome),
		risk:            gauge("error_budget_risk", "The error budget's risk level for the service: 0.01 (tightest margins) to 0.6 (loosest); absent for services it does not charge.", svc...),
		reserveQuantile: gauge("reserve_quantile", "Quantile of load growth over the lead time the service's reserve plans at (1 - risk, 0.7 to 0.99).", svc...),
		burn:            gauge("error_budget_burn_ratio", "Miss fraction of the latency the service drives over the last twenty minutes, over its share of the error budget; above 1 it burns faster than the objective allows. Absent while the attainment is unknown.", svc...),
		spent:           gauge("error_budget_spent_ratio", "Miss fraction over the SLO's objective window, over the service's share of the error budget; at 1 or above the window's budget is spent. Absent while the attainment is unknown.", svc...),
	}
	reg.MustRegister(m.desired, m.current, m.ready, m.need, m.held, m.conflicting, m.bounds, m.plannedLoad,
		m.observed, m.missing, m.gpus, m.shortfall, m.lastTick, m.sloTarget, m.budget, m.lastOK, m.reasons,
		m.errors, m.decisions, m.risk, m.reserveQuantile, m.burn, m.spent, m.objective)
	return m
}

func (m *vecSeries) record(t planner.Tick, classify func(error) string) {
	p := t.Policy
	m.lastTick.WithLabelValues(p.Name).Set(float64(t.Time.UnixNano()) / 1e9)
	for sig, slo := range map[policies.Signal]policies.LatencySLO{
		policies.SignalTTFTPercentile: p.SLO.TTFT, policies.SignalITLPercentile: p.SLO.ITL} {
		m.sloTarget.DeletePartialMatch(prometheus.Labels{lPolicy: p.Name, lSignal: string(sig)})
		if slo.Target > 0 {
			pct := strconv.FormatFloat(slo.Percentile, 'g', -1, 64)
			m.sloTarget.WithLabelValues(p.Name, string(sig), pct).Set(slo.Target.Seconds())
		}
	}
	if p.Budget.MaxGPUs > 0 {
		m.budget.WithLabelValues(p.Name).Set(float64(p.Budget.MaxGPUs))
	} else {
		m.budget.DeleteLabelValues(p.Name)
	}
	if o := p.SLO.Objective; o > 0 && o < 1 {
		m.objective.WithLabelValues(p.Name).Set(o)
	} else {
		m.objective.DeleteLabelValues(p.Name)
	}
	m.lastOK.WithLabelValues(p.Name).Set(boolFloat(tickOK(t)))
	for _, e := range t.Errors {
		m.errors.WithLabelValues(p.Name, string(e.Stage), classify(e.Err)).Inc()
	}
	if t.Outcome == "" {
		return
	}
	m.decisions.WithLabelValues(p.Name, string(t.Outcome)).Inc()
	if t.Outcome == planner.OutcomeFailed {
		return
	}
	for _, sv := range signalValues(t.Observations) {
		if sv.v.OK {
			m.observed.WithLabelValues(p.Name, sv.name).Set(sv.v.V)
		} else {
			m.observed.DeleteLabelValues(p.Name, sv.name)
		}
		m.missing.WithLabelValues(p.Name, sv.name).Set(boolFloat(!sv.v.OK))
	}
	m.gpus.WithLabelValues(p.Name).Set(float64(t.Decision.GPUs))
	m.shortfall.WithLabelValues(p.Name).Set(float64(t.Decision.ShortfallGPUs))
	for _, s := range t.Decision.Services {
		m.recordService(p, t, s)
	}
}

func (m *vecSeries) recordService(p policies.Policy, t planner.Tick, s planner.ServiceDecision) {
	lv := []string{p.Name, p.Target.Namespace, p.Target.Deployment, s.Name}
	m.desired.WithLabelValues(lv...).Set(float64(s.Desired))
	m.current.WithLabelValues(lv...).Set(float64(s.Current))
	m.ready.WithLabelValues(lv...).Set(float64(s.Ready))
	m.need.WithLabelValues(lv...).Set(s.Need)
	m.held.WithLabelValues(lv...).Set(boolFloat(s.Held))
	m.conflicting.WithLabelValues(lv...).Set(boolFloat(backingOff(s)))
	if b, ok := p.BoundsAt(s.Name, t.Time); ok {
		m.bounds.WithLabelValues(append(lv, "min")...).Set(float64(b.Min))
		m.bounds.WithLabelValues(append(lv, "max")...).Set(float64(b.Max))
	}
	for sig, v := range map[string]float64{"request_rate": s.Load.RequestRate,
		"input_token_rate": s.Load.InputTokenRate, "output_token_rate": s.Load.OutputTokenRate} {
		m.plannedLoad.WithLabelValues(append(lv, sig)...).Set(v)
	}
	for _, r := range s.Reasons {
		m.reasons.WithLabelValues(append(lv, string(r.Step), string(r.Code))...).Inc()
	}
	b := s.Budget
	for _, g := range []struct {
		vec *prometheus.GaugeVec
		set bool
		v   float64
	}{{m.risk, b.Known, b.Risk}, {m.reserveQuantile, b.Known, b.ReserveQuantile},
		{m.burn, b.Known && b.Measured, b.Burn}, {m.spent, b.Known && b.Measured, b.Spent}} {
		if g.set {
			g.vec.WithLabelValues(lv...).Set(g.v)
		} else {
			g.vec.DeleteLabelValues(lv...)
		}
	}
}

func (m *vecSeries) forget(policy string) {
	l := prometheus.Labels{lPolicy: policy}
	for _, g := range []*prometheus.GaugeVec{m.desired, m.current, m.ready, m.need, m.held, m.bounds,
		m.plannedLoad, m.observed, m.missing, m.gpus, m.shortfall, m.lastTick, m.sloTarget, m.budget, m.lastOK, m.conflicting,
		m.risk, m.objective, m.reserveQuantile, m.burn, m.spent} {
		g.DeletePartialMatch(l)
	}
	for _, c := range []*prometheus.CounterVec{m.reasons, m.errors, m.decisions} {
		c.DeletePartialMatch(l)
	}
}

// seriesNames are the per-policy metric names.
var seriesNames = []string{"tidal_desired_replicas", "tidal_current_replicas", "tidal_ready_replicas",
	"tidal_raw_need_replicas", "tidal_held", "tidal_conflicting_writer", "tidal_replica_bounds",
	"tidal_planned_load", "tidal_observed", "tidal_observation_missing", "tidal_desired_gpus",
	"tidal_budget_shortfall_gpus", "tidal_last_tick_timestamp_seconds", "tidal_slo_target_seconds",
	"tidal_slo_objective_ratio", "tidal_budget_gpus", "tidal_last_tick_succeeded", "tidal_decision_reasons_total", "tidal_errors_total",
	"tidal_decisions_total", "tidal_error_budget_risk", "tidal_reserve_quantile", "tidal_error_budget_burn_ratio",
	"tidal_error_budget_spent_ratio"}

func seriesPolicy(t testing.TB, name, extra string) policies.Policy {
	t.Helper()
	p, err := policies.Parse([]byte(fmt.Sprintf(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: %s}
spec:
  target: {namespace: llm, deployment: d-%s, topology: disaggregated}
  services:
    - {name: Prefill, role: prefill, minReplicas: 1, maxReplicas: 10, gpusPerReplica: 1}
    - {name: Decode, role: decode, minReplicas: 2, maxReplicas: 8, gpusPerReplica: 2}
  metrics: {model: m}
%s`, name, name, extra)), name+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seriesTick is a tick of p at minute m deciding desired for each of services, with the given
// outcome, errors and reasons.
func seriesTick(p policies.Policy, m int, outcome planner.Outcome, obs planner.Observations, services []string,
	desired int32, reasons []planner.Reason, errs ...planner.TickError) planner.Tick {
	at := time.Date(2026, 3, 2, 10, m, 0, 0, time.UTC)
	t := planner.Tick{Policy: p, Time: at, Duration: time.Duration(m+1) * time.Millisecond, Outcome: outcome,
		Observations: obs, Decision: planner.Decision{Time: at, GPUs: 3 * desired, ShortfallGPUs: desired % 2}, Errors: errs}
	for i, s := range services {
		t.Decision.Services = append(t.Decision.Services, planner.ServiceDecision{Name: s, Current: desired - 1,
			Ready: desired - 2, Desired: desired + int32(i), Need: float64(desired) - 0.3, Held: i == 1,
			Load:    planner.Load{RequestRate: float64(m), InputTokenRate: 1000 * float64(m), OutputTokenRate: math.NaN()},
			Reasons: reasons, Budget: seriesBudget(m, i)})
	}
	return t
}

// seriesBudget is the error-budget state of service i at minute m: charged or not, measured or
// not, so that the series appear and disappear across a run.
func seriesBudget(m, i int) planner.ErrorBudget {
	if (m+i)%3 == 0 {
		return planner.ErrorBudget{}
	}
	b := planner.ErrorBudget{Known: true, Risk: 0.01 * float64(m+1), Share: 0.01}
	b.ReserveQuantile = 1 - min(b.Risk, 0.3)
	if (m+i)%2 == 0 {
		b.Measured, b.Burn, b.Spent = true, float64(m)/4, float64(i)+0.5
	}
	return b
}

// TestSeriesMatchVectors drives the Recorder and the former metric vectors through the same
// multi-policy run (applied, failed and error-only ticks, missing and non-finite observations,
// repeated reasons, a writer back-off, a service not in the policy, a hot update that moves the
// target, changes the objective and drops the budget and an SLO, failed Prometheus reads, a policy removed) and
// compares their scrape output after every step.
func TestSeriesMatchVectors(t *testing.T) {
	k, u := planner.Known, planner.Unknown
	a := seriesPolicy(t, "a", "  slo: {ttft: {target: 500ms, percentile: 95}, itl: {target: 30ms}}\n  budget: {maxGPUs: 12}\n")
	b := seriesPolicy(t, "b", "  slo: {ttft: {target: 2s}, itl: {target: 50ms, percentile: 99.5}}\n")
	c := seriesPolicy(t, "c", "  slo: {ttft: {target: 1s}, itl: {target: 40ms}, objective: 99.9}\n")
	a2 := seriesPolicy(t, "a", "  slo: {ttft: {target: 400ms, percentile: 95}, itl: {target: 30ms}, objective: 98}\n")
	a2.Target.Deployment = "moved"
	a2.SLO.ITL.Target = 0 // as a policy without an ITL target would have it
	obs := planner.Observations{RequestRate: k(12), TTFT: k(0.2), QueueDepth: u("empty result"), KVUsage: k(math.NaN())}
	obs2 := planner.Observations{RequestRate: u("stale"), TTFT: k(math.Inf(1)), QueueDepth: k(3)}
	size := []planner.Reason{{Step: planner.StepSize, Code: planner.CodeSized}}
	backoff := []planner.Reason{{Step: planner.StepSize, Code: planner.CodeSized},
		{Step: planner.StepStabilise, Code: planner.CodeWriterBackoff}}
	pd := []string{"Prefill", "Decode"}
	steps := []struct {
		name string
		do   func(r *Recorder, v *vecSeries)
	}{
		{"a applied with an apply timeout", func(r *Recorder, v *vecSeries) {
			rec(r, v, seriesTick(a, 0, planner.OutcomeApplied, obs, pd, 3, size,
				planner.TickError{Stage: planner.StageApply, Err: context.DeadlineExceeded}))
		}},
		{"b: backfill failed, then an error-only tick", func(r *Recorder, v *vecSeries) {
			rec(r, v, seriesTick(b, 0, planner.OutcomeFailed, obs, nil, 0, nil,
				planner.TickError{Stage: planner.StageHistory, Err: errors.New("no history")}))
			rec(r, v, seriesTick(b, 1, "", obs, nil, 0, nil,
				planner.TickError{Stage: planner.StageReplicas, Err: errors.New("panic: boom")}))
		}},
		{"a again: other observations, reasons repeated, a writer back-off", func(r *Recorder, v *vecSeries) {
			rec(r, v, seriesTick(a, 1, planner.OutcomeNoChange, obs2, pd, 4, backoff))
			rec(r, v, seriesTick(a, 2, planner.OutcomeDryRun, obs2, pd[:1], 5, size))
		}},
		{"c with a service the policy does not have", func(r *Recorder, v *vecSeries) {
			rec(r, v, seriesTick(c, 2, planner.OutcomeFollower, planner.Observations{}, []string{"Prefill", "Ghost"}, 2, size))
		}},
		{"failed Prometheus reads, also of a policy never ticked", func(r *Recorder, v *vecSeries) {
			for _, x := range []struct{ policy, kind string }{{"b", "unreachable"}, {"b", "unreachable"}, {"ghost", "timeout"}} {
				r.ObserveFailed(x.policy, x.kind)
				v.errors.WithLabelValues(x.policy, string(planner.StageObserve), x.kind).Inc()
			}
		}},
		{"a failed after a decision: its decision series stay", func(r *Recorder, v *vecSeries) {
			rec(r, v, seriesTick(a, 3, planner.OutcomeFailed, obs, pd, 9, size,
				planner.TickError{Stage: planner.StagePlan, Err: errors.New("panic: x")}))
		}},
		{"a moved, no budget, no ITL target", func(r *Recorder, v *vecSeries) {
			rec(r, v, seriesTick(a2, 4, planner.OutcomeApplied, obs, pd, 2, size))
		}},
		{"b removed by a reload", func(r *Recorder, v *vecSeries) {
			r.SetPolicies([]string{"a", "c"})
			v.forget("b")
		}},
	}
	r, ref := NewRecorder(Options{}), prometheus.NewRegistry()
	v := newVecSeries(ref)
	for _, st := range steps {
		st.do(r, v)
		want, err := testutil.GatherAndFormat(ref, expfmt.TypeTextPlain, seriesNames...)
		if err != nil {
			t.Fatal(err)
		}
		if err := testutil.GatherAndCompare(r.Registry(), strings.NewReader(string(want)), seriesNames...); err != nil {
			t.Errorf("after %s: the scrape differs from the vectors':\n%v", st.name, err)
		}
	}
	checkCreated(t, r.Registry())
}

// checkCreated checks that every per-policy counter carries its created timestamp, as the
// vectors' counters do in the protobuf exposition (the text format has no place for it).
func checkCreated(t *testing.T, g prometheus.Gatherer) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_COUNTER || !slices.Contains(seriesNames, mf.GetName()) {
			continue
		}
		for _, m := range mf.GetMetric() {
			n++
			if m.GetCounter().GetCreatedTimestamp() == nil {
				t.Errorf("%s %v has no created timestamp", mf.GetName(), m.GetLabel())
			}
		}
	}
	if n == 0 {
		t.Error("no per-policy counter gathered")
	}
}

func rec(r *Recorder, v *vecSeries, t planner.Tick) {
	r.Record(t)
	v.record(t, DefaultKind)
}

// BenchmarkGather500Policies gathers the per-policy series of 500 policies (two services each,
// after one applied tick): the cost of a scrape, which the collector pays in label pairs it
// builds per scrape and the vectors kept for the life of the process. It also reports the heap
// each keeps between scrapes (HeapAlloc after a GC, less before recording).
//
//	go test ./cmd/tidal/ops -run '^$' -bench Gather500 -benchmem
func BenchmarkGather500Policies(b *testing.B) {
	obs := planner.Observations{RequestRate: planner.Known(12), QueueDepth: planner.Unknown("empty result")}
	size := []planner.Reason{{Step: planner.StepSize, Code: planner.CodeSized}, {Step: planner.StepClamp, Code: planner.CodeMin}}
	ticks := make([]planner.Tick, 500)
	for i := range ticks {
		p := seriesPolicy(b, fmt.Sprintf("p%03d", i), "  slo: {ttft: {target: 500ms}, itl: {target: 30ms}}\n")
		ticks[i] = seriesTick(p, 0, planner.OutcomeApplied, obs, []string{"Prefill", "Decode"}, 3, size)
	}
	for _, tc := range []struct {
		name   string
		record func(prometheus.Registerer) func(planner.Tick)
	}{
		{"collector", func(reg prometheus.Registerer) func(planner.Tick) {
			c := newPolicyCollector()
			reg.MustRegister(c)
			return func(t planner.Tick) { c.record(t, DefaultKind) }
		}},
		{"vectors", func(reg prometheus.Registerer) func(planner.Tick) {
			v := newVecSeries(reg)
			return func(t planner.Tick) { v.record(t, DefaultKind) }
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			reg := prometheus.NewRegistry()
			before := heapAlloc()
			record := tc.record(reg)
			for _, t := range ticks {
				record(t)
			}
			kept := float64(heapAlloc()-before) / 1e6
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(kept, "kept-MB") // after the loop, which clears reported metrics
		})
	}
}

// heapAlloc is the heap in use after a GC.
func heapAlloc() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestSeriesConcurrentRecordAndGather records ticks of several policies from their own
// goroutines while scraping (as the loop's workers and Prometheus do; run it with -race) and
// checks the counters' totals at the end.
func TestSeriesConcurrentRecordAndGather(t *testing.T) {
	const policiesN, ticksN = 4, 50
	r := NewRecorder(Options{})
	obs := planner.Observations{RequestRate: planner.Known(1)}
	size := []planner.Reason{{Step: planner.StepSize, Code: planner.CodeSized}}
	var wg sync.WaitGroup
	for i := range policiesN {
		p := seriesPolicy(t, fmt.Sprintf("p%d", i), "  slo: {ttft: {target: 500ms}, itl: {target: 30ms}}\n")
		wg.Go(func() {
			for m := range ticksN {
				r.Record(seriesTick(p, m%60, planner.OutcomeApplied, obs, []string{"Prefill"}, 2, size))
			}
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			if _, err := r.Registry().Gather(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	<-done
	var want strings.Builder
	want.WriteString("# HELP tidal_decisions_total Ticks by outcome (applied, no-change, dry-run, follower, failed).\n# TYPE tidal_decisions_total counter\n")
	for i := range policiesN {
		fmt.Fprintf(&want, "tidal_decisions_total{outcome=\"applied\",policy=\"p%d\"} %d\n", i, ticksN)
	}
	if err := testutil.GatherAndCompare(r.Registry(), strings.NewReader(want.String()), "tidal_decisions_total"); err != nil {
		t.Error(err)
	}
}
