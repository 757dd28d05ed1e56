package compete

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
)

// TestScheduleRequestsScaleUpsAhead: with 2-minute startups and 10-minute windows, a window's
// larger allocation is asked for from 2 minutes before it, a smaller one only at its start.
func TestScheduleRequestsScaleUpsAhead(t *testing.T) {
	d := deployment(t) // startup 2 min for both services
	s := &schedule{d: d, win: 600, init: []int32{1, 1}, alloc: [][]int32{{1, 1}, {4, 1}, {2, 1}}}
	tests := []struct {
		at   time.Duration
		want map[string]int32
	}{
		{7 * time.Minute, map[string]int32{"P": 1, "D": 1}},
		{8 * time.Minute, map[string]int32{"P": 4, "D": 1}},  // window 1's scale-up, a startup ahead
		{19 * time.Minute, map[string]int32{"P": 4, "D": 1}}, // window 2 needs fewer: not yet
		{20 * time.Minute, map[string]int32{"P": 2, "D": 1}},
		{45 * time.Minute, map[string]int32{"P": 2, "D": 1}}, // beyond the decided windows: the last
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, s.Scale(time.Time{}.Add(tt.at), planner.Observations{})); diff != "" {
			t.Errorf("at %v (-want +got):\n%s", tt.at, diff)
		}
	}
}

// TestHindsightMeetsTheGoalCheaperThanStatic: on a quiet workload with a 2-minute burst, the
// search reaches the goal with fewer GPU-hours than the smallest static allocation that does.
func TestHindsightMeetsTheGoalCheaperThanStatic(t *testing.T) {
	d := deployment(t)
	wl := sim.Workload{Name: "burst", Duration: 40 * time.Minute}
	for ms := 0; ms < 40*60*1000; ms += 1000 {
		wl.Requests = append(wl.Requests, sim.Request{Arrival: time.Duration(ms) * time.Millisecond, InputTokens: 3000, OutputTokens: 150})
	}
	for ms := 20 * 60 * 1000; ms < 22*60*1000; ms += 40 {
		wl.Requests = append(wl.Requests, sim.Request{Arrival: time.Duration(ms) * time.Millisecond, InputTokens: 3000, OutputTokens: 150})
	}
	sortRequests(wl.Requests)
	st, err := Search(d, wl, 0.99, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHindsight(d, wl, sim.Options{}, HindsightOptions{})
	hr, err := h.Search(0.99, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !hr.Reached || hr.Result.Attainment < 0.99 {
		t.Fatalf("hindsight reached %.4f (tried %+v), want >= 0.99", hr.Result.Attainment, hr.Tried)
	}
	if hr.Result.GPUHours >= st.Result.GPUHours {
		t.Errorf("hindsight %.2f GPU-h, static %.2f (%v): want fewer", hr.Result.GPUHours, st.Result.GPUHours, st.Replicas)
	}
}

// TestHindsightShowsAWholeRunWhenEveryPassStops: with a goal no schedule can reach (100%, and
// one prompt whose prefill alone outlasts the TTFT target), every pass stops at that miss; the
// search then shows the highest price tried run to the end, not an empty result.
func TestHindsightShowsAWholeRunWhenEveryPassStops(t *testing.T) {
	d := deployment(t)
	wl := sim.Workload{Name: "one-too-long", Duration: 20 * time.Minute}
	for ms := 0; ms < 20*60*1000; ms += 1000 {
		wl.Requests = append(wl.Requests, sim.Request{Arrival: time.Duration(ms) * time.Millisecond, InputTokens: 3000, OutputTokens: 150})
	}
	wl.Requests = append(wl.Requests, sim.Request{Arrival: 10*time.Minute + 500*time.Millisecond, InputTokens: 16000, OutputTokens: 100})
	sortRequests(wl.Requests)
	hr, err := NewHindsight(d, wl, sim.Options{}, HindsightOptions{}).Search(1, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range hr.Tried {
		if !p.Aborted {
			t.Fatalf("fixture: a pass at %g ran to the end (%+v); want every pass stopped", p.Price, p)
		}
	}
	if hr.Reached || !hr.Unstopped {
		t.Errorf("Reached %v, Unstopped %v; want false, true", hr.Reached, hr.Unstopped)
	}
	if hr.Result.Requests != len(wl.Requests) || !(hr.Result.Attainment > 0.99) || !(hr.Result.GPUHours > 0) {
		t.Errorf("result %d requests, %.4f attainment, %.2f GPU-h; want all %d requests run, above 99%%, some GPU-hours",
			hr.Result.Requests, hr.Result.Attainment, hr.Result.GPUHours, len(wl.Requests))
	}
}
