package metrics_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/metrics/promtest"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/sim/scenario"
	"github.com/tidal-planner/tidal/policies"
)

// agreeScrape is the scrape interval of the agreement test (the simulator's default).
const agreeScrape = 15 * time.Second

// TestSimAgreesWithAdapter feeds one synthetic event stream (40 minutes of bursty arrivals with
// their first tokens, completions and a few rejections) to both observation paths: the
// simulator's (sim.ObserveOutcomes) and the live one (the same stream written as Dynamo's frontend
// counter and histograms, in Dynamo's default buckets, scraped every 15 s, backfilled into a real
// Prometheus and read by the metrics Adapter). At every decision both must report the same
// request rate, arrival CV, means and percentiles. The first two minutes are left out: at a
// counter's birth Prometheus extrapolates each _sum, _count and bucket series to its own zero,
// which the simulator does not emulate for ratios (their rates are equal after that).
func TestSimAgreesWithAdapter(t *testing.T) {
	outs := agreementStream(3, 40*time.Minute)
	epoch := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour) // within the default retention
	prof, err := scenario.Profile()
	if err != nil {
		t.Fatal(err)
	}
	d := sim.Deployment{Model: sim.NewModel(prof), TTFT: ttftTarget, ITL: itlTarget,
		TTFTPercentile: ttftPercentile, ITLPercentile: itlPercentile, PrefillTokenBudget: sim.DefaultPrefillTokenBudget,
		MaxBatch: sim.DefaultMaxBatch, MaxContext: sim.DefaultMaxContext,
		Services: []sim.Service{
			{Name: "Prefill", Role: policies.RolePrefill, GPUsPerReplica: 1, MinReplicas: 1, MaxReplicas: 4, Initial: 1},
			{Name: "Decode", Role: policies.RoleDecode, GPUsPerReplica: 1, MinReplicas: 1, MaxReplicas: 4, Initial: 1}}}
	simObs, err := sim.ObserveOutcomes(d, outs, sim.Cadence{Interval: time.Minute, Window: time.Minute},
		sim.Options{Epoch: epoch, ScrapeInterval: agreeScrape})
	if err != nil {
		t.Fatal(err)
	}

	srv := promtest.StartT(t, promtest.Config{})
	if err := srv.Backfill(context.Background(), frontendOpenMetrics(outs, epoch, "m", "ns")); err != nil {
		t.Fatalf("%v\n%s", err, srv.Log())
	}
	pol := testPolicy(t, srv.URL(), "m", "ns", time.Minute, "")
	a := metrics.New(metrics.Options{})
	compared := 0
	for _, so := range simObs {
		if so.Time.Sub(epoch) <= 2*time.Minute || so.Time.Sub(epoch) > 40*time.Minute {
			continue
		}
		lo, err := a.Observe(context.Background(), pol, so.Time)
		if err != nil {
			t.Fatalf("Observe at %v: %v", so.Time, err)
		}
		for _, c := range []struct {
			name       string
			simV, live planner.Value
		}{
			{"request rate", so.RequestRate, lo.RequestRate},
			{"arrival CV", so.ArrivalCV, lo.ArrivalCV},
			{"mean TTFT", so.TTFT, lo.TTFT},
			{"TTFT percentile", so.TTFTPercentile, lo.TTFTPercentile},
			{"mean ITL", so.ITL, lo.ITL},
			{"ITL percentile", so.ITLPercentile, lo.ITLPercentile},
			{"mean input tokens", so.InputTokens, lo.InputTokens},
			{"input tokens percentile", so.InputTokensPercentile, lo.InputTokensPercentile},
			{"mean output tokens", so.OutputTokens, lo.OutputTokens},
			{"output tokens percentile", so.OutputTokensPercentile, lo.OutputTokensPercentile},
			{"TTFT attained", so.TTFTAttained, lo.TTFTAttained},
			{"ITL attained", so.ITLAttained, lo.ITLAttained},
		} {
			compared++
			if c.simV.OK != c.live.OK || (c.simV.OK && math.Abs(c.simV.V-c.live.V) > 1e-6*max(1, math.Abs(c.live.V))) {
				t.Errorf("%s at +%v: simulator %+v, adapter via Prometheus %+v", c.name, so.Time.Sub(epoch), c.simV, c.live)
			}
		}
		if so.Time.Sub(epoch) == 35*time.Minute {
			if !so.RequestRate.OK || !so.ArrivalCV.OK || !so.TTFTPercentile.OK || !so.ITLPercentile.OK ||
				!so.TTFTAttained.OK || !so.ITLAttained.OK {
				t.Errorf("at +35m the simulator's view is missing values: %+v", so)
			}
			t.Logf("at +35m: rate %.3f/s, arrival CV %.3f, TTFT p%g %.3f s, ITL p%g %.4f s, within %s TTFT %.4f, within %s ITL %.4f (both paths)",
				so.RequestRate.V, so.ArrivalCV.V, ttftPercentile, so.TTFTPercentile.V, itlPercentile, so.ITLPercentile.V,
				ttftTarget, so.TTFTAttained.V, itlTarget, so.ITLAttained.V)
		}
	}
	if compared < 38*12 {
		t.Errorf("compared %d values, want the 38 decisions x 12 signals", compared)
	}
}

// agreementStream draws bursty arrivals (3/s, and 12/s for two minutes in every six) with
// log-normal lengths, exponential TTFTs and uniform token gaps; 1% are rejected.
func agreementStream(seed uint64, span time.Duration) []sim.Outcome {
	r := rand.New(rand.NewPCG(seed, 11))
	var outs []sim.Outcome
	sec := func(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }
	for t := 0.0; ; {
		rate := 3.0
		if int(t/120)%3 == 0 {
			rate = 12
		}
		t += r.ExpFloat64() / rate
		if t >= span.Seconds() {
			return outs
		}
		in := int(math.Exp(7.6+0.5*r.NormFloat64())) + 1
		out := int(math.Exp(5+0.6*r.NormFloat64())) + 1
		req := sim.Request{Arrival: sec(t), InputTokens: in, OutputTokens: out}
		if r.Float64() < 0.01 {
			outs = append(outs, sim.Outcome{Request: req, Rejected: true})
			continue
		}
		first := t + 0.05 + 0.15*r.ExpFloat64()
		done := first + (0.01+0.03*r.Float64())*float64(out-1)
		outs = append(outs, sim.Outcome{Request: req, FirstToken: sec(first), Done: sec(done)})
	}
}

// frontendOpenMetrics writes what Dynamo's frontend would have exposed for outs, scraped every
// agreeScrape (stamped 1 ms after each tick): requests_total (counted at completion or
// rejection) and the TTFT, ITL (one observation per token after the first), input and output
// length histograms in Dynamo's default buckets. Events at or after a tick count from the next.
func frontendOpenMetrics(outs []sim.Outcome, epoch time.Time, model, ns string) []byte {
	type ev struct {
		t    float64
		hist int // -1: the counter only; else 0 TTFT, 1 ITL, 2 input, 3 output
		x, w float64
		cnt  bool
	}
	var evs []ev
	for _, o := range outs {
		if o.Rejected {
			evs = append(evs, ev{t: o.Arrival.Seconds(), hist: -1, cnt: true})
			continue
		}
		first, done := o.FirstToken.Seconds(), o.Done.Seconds()
		evs = append(evs, ev{t: first, hist: 0, x: first - o.Arrival.Seconds(), w: 1},
			ev{t: first, hist: 2, x: float64(o.InputTokens), w: 1},
			ev{t: done, hist: 3, x: float64(o.OutputTokens), w: 1, cnt: true})
		if o.OutputTokens > 1 {
			evs = append(evs, ev{t: done, hist: 1, x: (done - first) / float64(o.OutputTokens-1), w: float64(o.OutputTokens - 1)})
		}
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return cmp.Compare(a.t, b.t) })
	b := sim.DynamoBuckets()
	names := []string{"time_to_first_token_seconds", "inter_token_latency_seconds", "input_sequence_tokens", "output_sequence_tokens"}
	bounds := [][]float64{b.TTFT, b.ITL, b.InputTokens, b.OutputTokens}
	type state struct{ buckets []float64 } // cumulative per bound, then +Inf, sum, count
	hs := make([]state, 4)
	for i := range hs {
		hs[i].buckets = make([]float64, len(bounds[i])+3)
	}
	counter := 0.0
	labels := fmt.Sprintf(`model=%q,dynamo_namespace=%q`, model, ns)
	var lines [5][]string // counter, then the four histograms
	end := evs[len(evs)-1].t
	j := 0
	for k := 1; float64(k-1)*agreeScrape.Seconds() <= end; k++ {
		tick := float64(k) * agreeScrape.Seconds()
		for ; j < len(evs) && evs[j].t < tick; j++ {
			e := evs[j]
			if e.cnt {
				counter++
			}
			if e.hist < 0 {
				continue
			}
			h, bs := hs[e.hist].buckets, bounds[e.hist]
			for i, le := range bs {
				if e.x <= le {
					h[i] += e.w
				}
			}
			h[len(bs)] += e.w
			h[len(bs)+1] += e.x * e.w
			h[len(bs)+2] += e.w
		}
		ts := fmt.Sprintf("%d.001", epoch.Unix()+int64(tick))
		lines[0] = append(lines[0], fmt.Sprintf("dynamo_frontend_requests_total{%s} %s %s", labels, num(counter), ts))
		for i, name := range names {
			h, bs := hs[i].buckets, bounds[i]
			for bi, le := range bs {
				lines[i+1] = append(lines[i+1], fmt.Sprintf("dynamo_frontend_%s_bucket{%s,le=%q} %s %s", name, labels, num(le), num(h[bi]), ts))
			}
			lines[i+1] = append(lines[i+1],
				fmt.Sprintf("dynamo_frontend_%s_bucket{%s,le=\"+Inf\"} %s %s", name, labels, num(h[len(bs)]), ts),
				fmt.Sprintf("dynamo_frontend_%s_sum{%s} %s %s", name, labels, num(h[len(bs)+1]), ts),
				fmt.Sprintf("dynamo_frontend_%s_count{%s} %s %s", name, labels, num(h[len(bs)+2]), ts))
		}
	}
	var sb strings.Builder
	sb.WriteString("# TYPE dynamo_frontend_requests counter\n")
	sb.WriteString(strings.Join(lines[0], "\n") + "\n")
	for i, name := range names {
		sb.WriteString("# TYPE dynamo_frontend_" + name + " histogram\n")
		sb.WriteString(strings.Join(lines[i+1], "\n") + "\n")
	}
	sb.WriteString("# EOF\n")
	return []byte(sb.String())
}

func num(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
