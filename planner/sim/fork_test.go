package sim

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestForkMatchesRun: a run stopped, forked (the forks running on under other decisions), then
// finished gives exactly Run's result, and a fork finished alone gives the result of a run that
// made the fork's decisions from the start.
func TestForkMatchesRun(t *testing.T) {
	d := testDeployment(t, 1, 1)
	plan := func(late map[string]int32) *scripted {
		return &scripted{steps: []scriptStep{{at: 5 * time.Minute, want: map[string]int32{"prefill": 3, "decode": 2}},
			{at: 12 * time.Minute, want: late}}}
	}
	mainPlan := map[string]int32{"prefill": 1, "decode": 1}
	forkPlan := map[string]int32{"prefill": 4, "decode": 3}
	want, err := Run(d, bursty(), plan(mainPlan), Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantFork, err := Run(d, bursty(), plan(forkPlan), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStepper(d, bursty(), plan(mainPlan), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.RunUntil(11 * time.Minute)
	gotFork := s.Fork(plan(forkPlan)).Finish()
	other := s.Fork(plan(map[string]int32{"prefill": 2, "decode": 1}))
	other.RunUntil(20 * time.Minute)
	if tl := other.TallyAt(20 * time.Minute); tl.Met+tl.Missed == 0 || tl.GPUSeconds <= 0 {
		t.Errorf("fork tally %+v: nothing counted", tl)
	}
	got := s.Finish()
	if diff := cmp.Diff(want, got, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("forked-from run differs from Run (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantFork.Attainment, gotFork.Attainment); diff != "" || wantFork.GPUHours != gotFork.GPUHours {
		t.Errorf("fork: attainment %v GPU-h %v; a run with its decisions: %v, %v", gotFork.Attainment, gotFork.GPUHours, wantFork.Attainment, wantFork.GPUHours)
	}
}

// TestAccountSplitsMissesAndGPUs: the books add up to the totals.
func TestAccountSplitsMissesAndGPUs(t *testing.T) {
	d := testDeployment(t, 1, 1)
	wl := steady(6000, 25*time.Millisecond, 3000, 100) // 40 req/s: 120k prompt tokens/s for 2.5 min
	wl.Duration = time.Hour + time.Minute
	wl.Requests = append(wl.Requests, Request{Arrival: time.Hour, InputTokens: 20000, OutputTokens: 10}) // over-context
	r, err := Run(d, wl, &scripted{steps: []scriptStep{{at: time.Minute, want: map[string]int32{"prefill": 2, "decode": 2}}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	missed := r.Requests - r.Met
	if r.Misses.Total() != missed || r.Misses.TTFT == 0 || r.Misses.Rejected != 1 || len(r.MissesByHour) != 2 || r.MissesByHour[1].Rejected != 1 {
		t.Errorf("misses by cause %+v, total %d; want %d missed with some TTFT misses", r.Misses, r.Misses.Total(), missed)
	}
	var byHour, gpuh float64
	for _, m := range r.MissesByHour {
		byHour += float64(m.Total())
	}
	events := 0
	for _, s := range r.Services {
		gpuh += s.GPUHours
		events += s.ScaleEvents
	}
	if int(byHour) != missed || events != r.ScaleEvents || gpuh < r.GPUHours*0.999999 || gpuh > r.GPUHours*1.000001 {
		t.Errorf("by hour %v, services %+v (events %d, GPU-h %v); totals %d missed, %d events, %v GPU-h",
			byHour, r.Services, events, gpuh, missed, r.ScaleEvents, r.GPUHours)
	}
}
