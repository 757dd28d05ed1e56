package sim

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// bursty is a deterministic workload with a busy middle third, enough to queue and scale.
func bursty() Workload {
	wl := Workload{Name: "bursty", Duration: 30 * time.Minute}
	for i := range 9000 {
		at := time.Duration(i) * 200 * time.Millisecond
		if at > 10*time.Minute && at < 20*time.Minute && i%2 == 0 {
			wl.Requests = append(wl.Requests, Request{Arrival: at, InputTokens: 2500 + i%1000, OutputTokens: 100 + i%200})
		}
		wl.Requests = append(wl.Requests, Request{Arrival: at, InputTokens: 3000 + i%700, OutputTokens: 150 + i%100})
	}
	return wl
}

func TestRunIsDeterministic(t *testing.T) {
	d := testDeployment(t, 1, 1)
	run := func() Result {
		as := &scripted{steps: []scriptStep{{at: 5 * time.Minute, want: map[string]int32{"prefill": 3, "decode": 2}},
			{at: 25 * time.Minute, want: map[string]int32{"prefill": 1, "decode": 1}}}}
		r, err := Run(d, bursty(), as, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := run(), run()
	if diff := cmp.Diff(a, b, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("two runs of the same inputs differ (-first +second):\n%s", diff)
	}
}

func TestGPUHoursChargeStartingAndDrainingReplicas(t *testing.T) {
	d := testDeployment(t, 1, 1)
	wl := steady(600, time.Second, 1000, 20) // 10 minutes, light load
	tests := []struct {
		name  string
		steps []scriptStep
		// want is GPU-hours charged over the 10 minutes, ignoring the last request's tail.
		want float64
	}{
		{"fixed 1+1", nil, 2 * 10.0 / 60},
		{"prefill to 3 at 2m, back to 1 at 6m", []scriptStep{
			{at: 2 * time.Minute, want: map[string]int32{"prefill": 3}},
			{at: 6 * time.Minute, want: map[string]int32{"prefill": 1}},
		}, (2*10.0 + 2*4.0) / 60},
		{"a scale-up cancelled before it starts still costs", []scriptStep{
			{at: 2 * time.Minute, want: map[string]int32{"decode": 2}},
			{at: 2*time.Minute + 30*time.Second, want: map[string]int32{"decode": 1}},
		}, (2*10.0 + 0.5) / 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Run(d, wl, &scripted{steps: tt.steps}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(r.GPUHours-tt.want) > 0.01 {
				t.Errorf("GPU-hours %.4f, want %.4f", r.GPUHours, tt.want)
			}
			if r.Met != r.Requests {
				t.Errorf("%d of %d requests met the SLO under light load", r.Met, r.Requests)
			}
		})
	}
}

func TestReplicasServeOnlyAfterStartup(t *testing.T) {
	d := testDeployment(t, 1, 1)
	as := &scripted{steps: []scriptStep{{at: 15 * time.Second, want: map[string]int32{"prefill": 4}}}}
	r, err := Run(d, steady(300, time.Second, 1000, 10), as, Options{SeriesStep: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Series
	for i, at := range s.Time {
		ready := s.Services[0].Ready[i]
		want := 1.0
		if at > 75 { // requested at 15 s, startup 60 s (a scrape at exactly 75 s comes first)
			want = 4
		}
		if ready != want {
			t.Errorf("at %vs: %v prefill replicas ready, want %v", at, ready, want)
		}
	}
}

func TestScaleDownDrainsInFlightWork(t *testing.T) {
	d := testDeployment(t, 4, 4)
	as := &scripted{steps: []scriptStep{{at: 11 * time.Minute, want: map[string]int32{"prefill": 1, "decode": 1}}}}
	r, err := Run(d, bursty(), as, Options{})
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	for _, x := range r.Series.RequestRate {
		served += int(math.Round(x * 60))
	}
	if served != r.Requests {
		t.Errorf("%d requests arrived in the series, %d in the result", served, r.Requests)
	}
	if r.TTFT.P50 == 0 || r.Requests != len(bursty().Requests) {
		t.Errorf("requests lost on scale-down: result %+v", r)
	}
}

func TestOverContextRequests(t *testing.T) {
	d := testDeployment(t, 1, 1)
	wl := steady(100, time.Second, 1000, 10)
	for i := 0; i < 100; i += 10 {
		wl.Requests[i].InputTokens = 20000
	}
	tests := []struct {
		name                       string
		drop                       bool
		requests, rejected, filter int
	}{
		{"rejected and counted as misses", false, 100, 10, 0},
		{"filtered out", true, 90, 0, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Run(d, wl, &fixed{}, Options{DropOverContext: tt.drop})
			if err != nil {
				t.Fatal(err)
			}
			got := [4]int{r.Requests, r.Rejected, r.Filtered, r.Met}
			want := [4]int{tt.requests, tt.rejected, tt.filter, 90}
			if got != want {
				t.Errorf("requests, rejected, filtered, met = %v, want %v", got, want)
			}
		})
	}
}

func TestObservationsLikePrometheus(t *testing.T) {
	d := testDeployment(t, 2, 1)
	wl := steady(1200, 250*time.Millisecond, 2000, 50) // 4 req/s for 5 minutes
	wl.Duration = 7 * time.Minute
	f := &fixed{}
	if _, err := Run(d, wl, f, Options{}); err != nil {
		t.Fatal(err)
	}
	if len(f.seen) != 7 {
		t.Fatalf("autoscaler asked %d times over 7 minutes at 1/min, want 7", len(f.seen))
	}
	busy, idle := f.seen[2], f.seen[6]
	if !busy.RequestRate.OK || math.Abs(busy.RequestRate.V-4) > 0.1 {
		t.Errorf("request rate %+v, want 4/s", busy.RequestRate)
	}
	// every input is 2000 tokens, in Dynamo's (1800, 3600] bucket: histogram_quantile(0.9)
	// interpolates 1800 + 0.9 x 1800, as Prometheus would answer the live adapter
	if in := busy.InputTokensPercentile; !in.OK || math.Abs(in.V-3420) > 1e-9 {
		t.Errorf("input tokens p90 %+v, want 3420 (histogram_quantile in Dynamo's buckets)", in)
	}
	if !busy.InputTokens.OK || busy.InputTokens.V != 2000 || !busy.TTFT.OK || !busy.ITLPercentile.OK {
		t.Errorf("busy window: input %+v, ttft %+v, itl p90 %+v", busy.InputTokens, busy.TTFT, busy.ITLPercentile)
	}
	if so, ok := busy.Service("prefill"); !ok || so.Ready != 2 || so.Desired != 2 || !so.ReplicasKnown {
		t.Errorf("prefill service observation %+v", so)
	}
	if !idle.RequestRate.OK || idle.RequestRate.V != 0 {
		t.Errorf("idle window: request rate %+v, want a known 0", idle.RequestRate)
	}
	if idle.TTFT.OK || idle.InputTokens.OK {
		t.Errorf("idle window: TTFT %+v and input %+v must be missing, not zero", idle.TTFT, idle.InputTokens)
	}
}

func TestValidateRejectsBadDeployments(t *testing.T) {
	good := testDeployment(t, 1, 1)
	tests := []struct {
		name   string
		modify func(*Deployment)
	}{
		{"no model", func(d *Deployment) { d.Model = nil }},
		{"two prefill services", func(d *Deployment) { d.Services[1].Role = d.Services[0].Role }},
		{"zero GPUs", func(d *Deployment) { d.Services[0].GPUsPerReplica = 0 }},
		{"max below min", func(d *Deployment) { d.Services[0].MaxReplicas = 0 }},
		{"no SLO", func(d *Deployment) { d.TTFT = 0 }},
		{"no token budget", func(d *Deployment) { d.PrefillTokenBudget = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := good
			d.Services = append([]Service(nil), good.Services...)
			tt.modify(&d)
			if _, err := Run(d, steady(1, 0, 1, 1), &fixed{}, Options{}); err == nil {
				t.Error("Run accepted an invalid deployment")
			}
		})
	}
}

func TestAggregatedEnginesDoBothPhases(t *testing.T) {
	d := testDeployment(t, 1, 1)
	d.Services = []Service{{Name: "agg", Role: policies.RoleAggregated, GPUsPerReplica: 1, StartupTime: time.Minute,
		MinReplicas: 1, MaxReplicas: 4, Initial: 1}}
	light := steady(600, time.Second, 1000, 100)
	heavy := steady(6000, 100*time.Millisecond, 3000, 100)
	lr, err := Run(d, light, &fixed{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	hr, err := Run(d, heavy, &fixed{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if lr.Met != lr.Requests || lr.GPUHours > 0.2 {
		t.Errorf("light load on one aggregated engine: %d of %d met, %.3f GPU-hours", lr.Met, lr.Requests, lr.GPUHours)
	}
	if !(hr.ITL.P50 > 1.5*lr.ITL.P50) {
		t.Errorf("prefill pauses decode, so heavy prefill must slow ITL: p50 %.4f s heavy vs %.4f s light", hr.ITL.P50, lr.ITL.P50)
	}
}

func TestRunRejectsBadWorkloads(t *testing.T) {
	d := testDeployment(t, 1, 1)
	tests := []struct {
		name string
		reqs []Request
	}{
		{"unsorted", []Request{{Arrival: time.Second, InputTokens: 1, OutputTokens: 1}, {Arrival: 0, InputTokens: 1, OutputTokens: 1}}},
		{"negative arrival", []Request{{Arrival: -time.Second, InputTokens: 1, OutputTokens: 1}}},
		{"negative length", []Request{{Arrival: 0, InputTokens: -5, OutputTokens: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Run(d, Workload{Name: tt.name, Requests: tt.reqs}, &fixed{}, Options{}); err == nil {
				t.Error("Run accepted a bad workload")
			}
		})
	}
}

// TestObservationsAreOneScrapeOld: a planner's query lands just before its tick's scrape, so the
// gauges it sees are the previous scrape's. 200 prompts of 3,000 tokens arrive between 50 and 60
// s on one prefill engine (arriving ~20% faster than it prefills): at the 60 s decision a queue has built but the
// planner sees the 45 s scrape (empty); at 75 s it sees the 60 s scrape.
func TestObservationsAreOneScrapeOld(t *testing.T) {
	d := testDeployment(t, 1, 1)
	wl := steady(200, 50*time.Millisecond, 3000, 2)
	for i := range wl.Requests {
		wl.Requests[i].Arrival += 50 * time.Second
	}
	wl.Duration = 2 * time.Minute
	f := &fixed{cadence: Cadence{Interval: 15 * time.Second, Window: time.Minute}}
	if _, err := Run(d, wl, f, Options{}); err != nil {
		t.Fatal(err)
	}
	at := func(sec int) planner.Observations { return f.seen[sec/15-1] }
	if q := at(60).QueueDepth; !q.OK || q.V != 0 {
		t.Errorf("queue depth seen at 60 s %+v, want the 45 s scrape's 0", q)
	}
	if q := at(75).QueueDepth; !q.OK || q.V < 20 {
		t.Errorf("queue depth seen at 75 s %+v, want the 60 s scrape's backlog (33: arrivals outpace the engine by ~20%%)", q)
	}
	if q := at(15).QueueDepth; q.OK {
		t.Errorf("queue depth seen at the first tick %+v, want missing: nothing scraped before it", q)
	}
}
