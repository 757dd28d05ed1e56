package planner

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// mark is a burn mark at t0 - ago that holds for hold.
func mark(replicas int32, load float64, ago time.Duration, episodes int, hold time.Duration) burnMark {
	return burnMark{replicas: replicas, load: load, at: t0.Add(-ago), down: t0.Add(-ago - 10*time.Minute), episodes: episodes, hold: hold}
}

// TestKeepBurned checks the burn memory's block: once a count has burned in two episodes, a
// scale-down to it or fewer is held one replica above it while the planned load is at least the
// load it burned at, for the mark's hold after the last burn.
func TestKeepBurned(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	tests := []struct {
		name      string
		mark      burnMark
		cur, want int32
		planned   float64 // prompt tokens/s planned for
		wantAfter int32
		wantCode  bool
	}{
		{"down to the burned count at its load is held", mark(1, 20000, time.Hour, 2, 2*time.Hour), 2, 1, 20000, 2, true},
		{"down to the burned count above its load is held", mark(1, 20000, time.Hour, 3, 2*time.Hour), 2, 1, 25000, 2, true},
		{"below its load the scale-down goes through", mark(1, 20000, time.Hour, 2, 2*time.Hour), 2, 1, 19000, 1, false},
		{"one episode is not a cycle", mark(1, 20000, time.Hour, 1, 0), 2, 1, 20000, 1, false},
		{"below the burned count: kept one above it", mark(2, 20000, time.Hour, 2, 2*time.Hour), 5, 1, 20000, 3, true},
		{"above the burned count: no evidence against it", mark(1, 20000, time.Hour, 2, 2*time.Hour), 4, 2, 50000, 2, false},
		{"the hold has run out", mark(1, 20000, time.Hour, 2, time.Hour), 2, 1, 20000, 1, false},
		{"no burn seen", burnMark{}, 2, 1, 20000, 1, false},
		{"no scale-down asked", mark(1, 20000, time.Hour, 2, 2*time.Hour), 2, 2, 20000, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(p, Options{Profile: synthProfile(t)})
			ss := &st.services[1]
			ss.burned = tc.mark
			var d ServiceDecision
			r := run{now: t0, obs: steady(t0, 10, reps(1, tc.cur, 1)), p: p, st: &st, i: 1, svc: p.ServiceAt(1), ss: ss, dec: &d,
				cur: tc.cur, ready: tc.cur, known: true, want: tc.want}
			r.load = Load{RequestRate: tc.planned / 2000, InputTokens: 2000, InputTokenRate: tc.planned}
			r.keepBurned()
			if r.want != tc.wantAfter {
				t.Errorf("want after = %d, expected %d", r.want, tc.wantAfter)
			}
			got := len(st.scratch) > 0 && st.scratch[len(st.scratch)-1].Code == CodeBurnedHere
			if got != tc.wantCode {
				t.Errorf("burned-here reason = %v, want %v (reasons %v)", got, tc.wantCode, st.scratch)
			}
		})
	}
}

// TestMarkBurn checks what a tightening records: the replicas serving and the observed load on
// the service's own signal (10 req/s of 2,000-token prompts), the lowest load for the same count,
// a new episode only after a new scale-down, holding for the time between the scale-downs and
// doubling with each episode (at most the objective window), a fresh mark for another count or
// after the objective window; nothing for a count reached by scaling up, one well above the
// model's need, or without the count or the load.
func TestMarkBurn(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	down := t0.Add(-5 * time.Minute) // the scale-down that reached the count
	tests := []struct {
		name     string
		prev     burnMark
		extra    int32 // replicas serving above the model's need at the observed load
		known    bool
		rate     float64
		scaledUp bool // the count was reached by a scale-up
		burning  bool // the error budget tightened
		want     func(need int32) burnMark
	}{
		{name: "first burn", known: true, rate: 10, burning: true,
			want: func(n int32) burnMark { return burnMark{n, 20000, t0, down, 1, 0} }},
		{name: "a second episode holds for the time between the scale-downs", prev: burnMark{0, 30000, t0.Add(-time.Hour), t0.Add(-2 * time.Hour), 1, 0}, known: true, rate: 10, burning: true,
			want: func(n int32) burnMark { return burnMark{n, 20000, t0, down, 2, 2*time.Hour - 5*time.Minute} }},
		{name: "a third episode doubles the hold", prev: burnMark{0, 30000, t0.Add(-time.Hour), t0.Add(-time.Hour), 2, 40 * time.Minute}, known: true, rate: 10, burning: true,
			want: func(n int32) burnMark { return burnMark{n, 20000, t0, down, 3, 80 * time.Minute} }},
		{name: "the hold is at most the objective window", prev: burnMark{0, 30000, t0.Add(-time.Hour), t0.Add(-time.Hour), 6, 20 * time.Hour}, known: true, rate: 10, burning: true,
			want: func(n int32) burnMark { return burnMark{n, 20000, t0, down, 7, 24 * time.Hour} }},
		{name: "same count, same scale-down: the same episode, lower load kept", prev: burnMark{0, 10000, t0.Add(-time.Minute), down, 2, time.Hour}, known: true, rate: 10, burning: true,
			want: func(n int32) burnMark { return burnMark{n, 10000, t0, down, 2, time.Hour} }},
		{name: "an expired mark is replaced", prev: burnMark{0, 10000, t0.Add(-25 * time.Hour), t0.Add(-26 * time.Hour), 3, time.Hour}, known: true, rate: 10, burning: true,
			want: func(n int32) burnMark { return burnMark{n, 20000, t0, down, 1, 0} }},
		{name: "not burning: nothing recorded", known: true, rate: 10,
			want: func(int32) burnMark { return burnMark{} }},
		{name: "a count reached by scaling up: nothing recorded", known: true, rate: 10, scaledUp: true, burning: true,
			want: func(int32) burnMark { return burnMark{} }},
		{name: "a count well above the model's need: nothing recorded", extra: 3, known: true, rate: 10, burning: true,
			want: func(int32) burnMark { return burnMark{} }},
		{name: "replicas unknown: nothing recorded", burning: true, rate: 10,
			want: func(int32) burnMark { return burnMark{} }},
		{name: "no rate: nothing recorded", known: true, burning: true,
			want: func(int32) burnMark { return burnMark{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(p, Options{Profile: synthProfile(t)})
			ss := &st.services[1]
			ss.lastChange, ss.lastUp = down, t0.Add(-time.Hour)
			if tc.scaledUp {
				ss.lastUp = down
			}
			var d ServiceDecision
			r := run{now: t0, obs: steady(t0, tc.rate, reps(1, 1, 1)), p: p, st: &st, i: 1, svc: p.ServiceAt(1), ss: ss, dec: &d,
				known: tc.known, burning: tc.burning}
			r.load = Load{InputTokens: 2000, OutputTokens: 200}
			need, ok := r.needAt(r.observedLoad())
			switch {
			case tc.rate == 0:
				need = 2 // no load to size: any count serving
			case !ok || need < 1:
				t.Fatalf("observed need = %d, %v: the test needs a sized count", need, ok)
			}
			r.cur, r.ready, r.want = need+tc.extra, need+tc.extra, need+tc.extra
			ss.burned = tc.prev
			if tc.prev.episodes > 0 {
				ss.burned.replicas = need
			}
			r.markBurn()
			if diff := cmp.Diff(tc.want(need), ss.burned, cmp.AllowUnexported(burnMark{}), cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("mark (-want +got):\n%s", diff)
			}
		})
	}
}
