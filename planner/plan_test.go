package planner

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/policies"
)

// tick is one Plan call in a test: observations at an offset from t0.
type tick struct {
	at  time.Duration
	obs func(now time.Time) Observations
}

// runTicks plans the ticks in order and returns the last decision.
func runTicks(t *testing.T, y string, ticks []tick) Decision {
	t.Helper()
	p := mustPolicy(t, y)
	st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0)})
	var d Decision
	for _, tk := range ticks {
		now := t0.Add(tk.at)
		d = Plan(now, tk.obs(now), p, &st)
	}
	return d
}

func at(rate float64, reps map[string]int32, mutate ...func(*Observations)) func(time.Time) Observations {
	return func(now time.Time) Observations {
		o := steady(now, rate, reps)
		for _, m := range mutate {
			m(&o)
		}
		return o
	}
}

func reps(f, p, d int32) map[string]int32 {
	return map[string]int32{"Frontend": f, "Prefill": p, "Decode": d}
}

func TestSteps(t *testing.T) {
	noRate := func(o *Observations) { o.RequestRate = Unknown("query failed: timeout") }
	slowTTFT := func(o *Observations) { o.TTFTPercentile = Known(0.6) }
	notReady := func(o *Observations) { o.Services[1].Ready = 2 }
	minute := time.Minute
	tests := []struct {
		name     string
		policy   string
		ticks    []tick
		service  string
		want     int32
		wantCode []Code
		noCode   []Code
	}{
		{
			name: "sizes prefill for the load", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(40, reps(1, 1, 1))}}, want: 6, wantCode: []Code{CodeForecast, CodeSized},
		},
		{
			name: "missing request rate holds the current count", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(1, reps(1, 5, 1), noRate)}}, want: 5, wantCode: []Code{CodeMissing, CodeHold},
			noCode: []Code{CodeSized},
		},
		{
			name: "reactive guard scales up on a valid TTFT breach despite missing rate", policy: disaggYAML,
			service: "Prefill", ticks: []tick{{0, at(1, reps(1, 3, 1), noRate, slowTTFT)}}, want: 6,
			wantCode: []Code{CodeHold, CodeTTFTBreach},
		},
		{
			name: "scale-down waits for the window to be covered", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(1, reps(1, 5, 1))}, {minute, at(1, reps(1, 5, 1))}}, want: 5,
			wantCode: []Code{CodeSized, CodeWindow},
		},
		{
			name: "after the window one step down at a time", policy: disaggYAML, service: "Prefill",
			ticks: series(7, minute, at(1, reps(1, 5, 1))), want: 4, wantCode: []Code{CodeMaxStepDown},
		},
		{
			// The load doubled while 6 replicas start: sizing asks 10 now rather than after the 6 serve.
			name: "a load that grows past what is starting scales up again", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(40, reps(1, 2, 1))}, {minute, at(80, reps(1, 2, 1), func(o *Observations) {
				o.Services[1].Desired = 6
				notReady(o)
			})}},
			want: 10, wantCode: []Code{CodeSized}, noCode: []Code{CodeStarting},
		},
		{
			// 6 are starting for 40 req/s; the TTFT breach the 4 ready replicas show is expected
			// until they serve, and asks nothing more.
			name: "a latency breach while a scale-up starts is held", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(40, reps(1, 2, 1))}, {minute, at(40, reps(1, 2, 1), func(o *Observations) {
				o.Services[1].Desired = 6
				o.TTFTPercentile, o.QueueDepth = Known(0.9), Unknown("stale")
				o.Services[1].Ready = 4
			})}},
			want: 6, wantCode: []Code{CodeTTFTBreach, CodeStarting},
		},
		{
			name: "stop waiting after the startup timeout", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(40, reps(1, 2, 1))}, {11 * minute, at(80, reps(1, 2, 1), func(o *Observations) {
				o.Services[1].Desired = 6
				notReady(o)
			})}},
			want: 10, wantCode: []Code{CodeStartupTimeout, CodeSized},
		},
		{
			name: "budget cuts prefill and decode together", service: "Decode",
			policy: disaggYAML + "  budget: {maxGPUs: 8}\n", ticks: []tick{{0, at(150, reps(1, 1, 1))}},
			want: 2, wantCode: []Code{CodeBudgetCut},
		},
		{
			name: "schedule floor raises the count", service: "Prefill",
			policy: disaggYAML + "  schedules:\n    - {name: peak, cron: '0 10 * * 1', duration: 1h, services: {Prefill: {minReplicas: 7}}}\n",
			ticks:  []tick{{0, at(1, reps(1, 1, 1))}}, want: 7, wantCode: []Code{CodeScheduleFloor},
		},
		{
			name: "max clamps last", service: "Prefill", policy: disaggYAML,
			ticks: []tick{{0, at(500, reps(1, 1, 1))}}, want: 10, wantCode: []Code{CodeNeedAboveMax, CodeMax},
		},
		{
			name: "ITL breach scales decode up", policy: disaggYAML, service: "Decode",
			ticks: []tick{{0, at(1, reps(1, 1, 2), func(o *Observations) { o.ITLPercentile = Known(0.03) })}},
			want:  3, wantCode: []Code{CodeITLBreach},
		},
		{
			// 60 queued, 2 of them in service: 58 wait, 5.8 s by Little's law, but the 2 ready
			// replicas' spare capacity (2 x 24.2k - 20k tokens/s) prefills 58 x 2000 tokens in
			// 4.1 s, long before a replica started now (2 min) could serve: no breach.
			name: "a backlog the ready replicas clear before a new replica could start is not a breach", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(10, reps(1, 2, 1), func(o *Observations) { o.QueueDepth = Known(60) })}},
			want:  2, noCode: []Code{CodeQueueBreach},
		},
		{
			// A TTFT p90 of 0.9 s over 60 queued that the 2 ready replicas clear in 4 s: the
			// breach is the burst's symptom, and the burst is gone before a new replica serves.
			name: "a TTFT breach over a backlog that clears before a startup asks nothing", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(10, reps(1, 2, 1), func(o *Observations) {
				o.TTFTPercentile, o.QueueDepth = Known(0.9), Known(60)
			})}},
			want: 2, noCode: []Code{CodeTTFTBreach, CodeQueueBreach},
		},
		{
			// Nobody waits: a TTFT breach in one window is the windowed tail of a burst already
			// gone; in two windows in a row it is service or batching delay, and asks.
			name: "a TTFT breach with an empty queue asks on its second window", policy: disaggYAML, service: "Prefill",
			ticks: []tick{
				{0, at(10, reps(1, 2, 1), func(o *Observations) { o.TTFTPercentile, o.QueueDepth = Known(0.9), Known(0) })},
				{minute, at(10, reps(1, 2, 1), func(o *Observations) { o.TTFTPercentile, o.QueueDepth = Known(0.9), Known(0) })},
			},
			want: 4, wantCode: []Code{CodeTTFTBreach},
		},
		{
			name: "a single TTFT breach with an empty queue asks nothing", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(10, reps(1, 2, 1), func(o *Observations) { o.TTFTPercentile, o.QueueDepth = Known(0.9), Known(0) })}},
			want:  2, noCode: []Code{CodeTTFTBreach},
		},
		{
			// 2,000 queued at 10 req/s: the spare 28.3k tokens/s need 141 s for 4M tokens, longer
			// than the 2-minute startup. Sized as a backlog cleared over one startup: 10 + 1998/120
			// = 26.7 req/s of 2,000 tokens on 24.2k tokens/s replicas, at the p90 with queueing: 3.
			name: "a backlog that would outlast a replica's startup is sized to clear over one startup", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(10, reps(1, 2, 1), func(o *Observations) { o.QueueDepth = Known(2000) })}},
			want:  3, wantCode: []Code{CodeQueueBreach},
		},
		{
			// 30 req/s of 2,000 tokens against 2 ready replicas' 48.3k tokens/s (24.15 req/s): the
			// backlog of 498 grows by 5.85 req/s for the 2-minute startup, to 1,200 when new
			// replicas serve, cleared within the 1-minute interval: sized at 30 + 20 req/s, 7 at the
			// p90 with queueing (over one startup, as if the new replicas served at once, 30 + 4.2
			// req/s would be 5).
			name: "a backlog growing until new replicas serve is sized as it will be then", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(30, reps(1, 2, 1), func(o *Observations) { o.QueueDepth = Known(500) })}},
			want:  7, wantCode: []Code{CodeQueueBreach},
		},
		{
			// Azure code trace at 00:38 in the simulator: 2 requests without a first token at
			// 0.92 req/s and 10 ready replicas are requests being prefilled, not waiting ones.
			name: "requests in prefill are not a queue breach", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(0.92, reps(1, 10, 1), func(o *Observations) { o.QueueDepth = Known(2) })}},
			want:  10, noCode: []Code{CodeQueueBreach},
		},
		{
			// 3 waiting beyond the 2 in service at 1 req/s is 3 s by Little's law, but the model
			// says 2 replicas carry 1 req/s plus 3 requests within 0.3 s (11 req/s of 83 ms
			// prefills): no breach.
			name: "a backlog the ready replicas clear in time is not a breach", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(1, reps(1, 2, 1), func(o *Observations) { o.QueueDepth = Known(5) })}},
			want:  2, noCode: []Code{CodeQueueBreach},
		},
		{
			// Like the Mooncake trace's quantised arrivals: 11 requests caught together at 3 req/s
			// with 3 ready and TTFT p90 0.2 s within 0.3 s; the 8 beyond those in service are
			// 8 x 2000 tokens, which 3 replicas prefill in 0.22 s.
			name: "a burst that drains in time under a healthy TTFT is not a breach", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(3, reps(1, 3, 1), func(o *Observations) {
				o.QueueDepth, o.TTFTPercentile = Known(11), Known(0.2)
			})}},
			want: 3, noCode: []Code{CodeQueueBreach},
		},
		{
			// A healthy TTFT window does not hide a backlog that outlasts a startup.
			name: "a backlog that outlasts a startup breaches under a healthy TTFT", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(10, reps(1, 2, 1), func(o *Observations) {
				o.QueueDepth, o.TTFTPercentile = Known(2000), Known(0.2)
			})}},
			want: 3, wantCode: []Code{CodeQueueBreach},
		},
		{
			name: "queue breach without token lengths asks by the wait ratio", policy: disaggYAML, service: "Prefill",
			ticks: []tick{{0, at(10, reps(1, 2, 1), func(o *Observations) {
				o.QueueDepth, o.InputTokens = Known(8), Unknown("no requests in window")
			})}},
			want: 4, wantCode: []Code{CodeHold, CodeQueueBreach},
		},
		{
			name: "scale-up cooldown holds", service: "Prefill",
			policy: strings.Replace(disaggYAML, "maxStepDown: 1,", "maxStepDown: 1, scaleUpCooldown: 5m,", 1),
			ticks:  []tick{{0, at(20, reps(1, 1, 1))}, {minute, at(60, reps(1, 3, 1))}}, want: 3,
			wantCode: []Code{CodeCooldown},
		},
		{
			name: "scale-down cooldown holds after the window", service: "Prefill",
			policy: strings.Replace(disaggYAML, "maxStepDown: 1,", "maxStepDown: 1, scaleDownCooldown: 10m,", 1),
			ticks:  append([]tick{{0, at(40, reps(1, 2, 1))}}, series(7, minute, at(1, reps(1, 6, 1)))[1:]...), want: 6,
			wantCode: []Code{CodeCooldown},
		},
		{
			name: "schedule ceiling lowers the count", service: "Prefill",
			policy: disaggYAML + "  schedules:\n    - {name: night, cron: '0 10 * * 1', duration: 1h, services: {Prefill: {maxReplicas: 2}}}\n",
			ticks:  []tick{{0, at(40, reps(1, 2, 1))}}, want: 2, wantCode: []Code{CodeScheduleCeiling},
		},
		{
			name: "replicas unknown holds the last decision", service: "Prefill", policy: disaggYAML,
			ticks: []tick{{0, at(40, reps(1, 1, 1))}, {minute, at(1, reps(1, 1, 1), func(o *Observations) { o.Services = nil })}},
			want:  6, wantCode: []Code{CodeReplicasUnknown, CodeHold},
		},
		{
			name: "no profile and no learning means no model: hold", service: "Prefill",
			policy: strings.Replace(disaggYAML, "  planning:", "  performanceModel: {profile: /absent, learn: false}\n  planning:", 1),
			ticks:  []tick{{0, at(40, reps(1, 2, 1))}}, want: 2, wantCode: []Code{CodeNoModel},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decision
			if strings.Contains(tc.name, "no profile") {
				p := mustPolicy(t, tc.policy)
				st := NewState(p, Options{NewForecaster: lastValueForecasters(0)})
				d = Plan(t0, tc.ticks[0].obs(t0), p, &st)
			} else {
				d = runTicks(t, tc.policy, tc.ticks)
			}
			sd, ok := d.Service(tc.service)
			if !ok {
				t.Fatalf("no decision for %s", tc.service)
			}
			if sd.Desired != tc.want {
				t.Errorf("desired = %d, want %d; reasons:\n%s", sd.Desired, tc.want, reasonLines(sd))
			}
			got := codes(sd)
			for _, c := range tc.wantCode {
				if !slices.Contains(got, c) {
					t.Errorf("missing reason %q; reasons:\n%s", c, reasonLines(sd))
				}
			}
			for _, c := range tc.noCode {
				if slices.Contains(got, c) {
					t.Errorf("unexpected reason %q; reasons:\n%s", c, reasonLines(sd))
				}
			}
		})
	}
}

func series(n int, every time.Duration, obs func(time.Time) Observations) []tick {
	out := make([]tick, n)
	for i := range out {
		out[i] = tick{time.Duration(i) * every, obs}
	}
	return out
}

func reasonLines(sd ServiceDecision) string {
	var b strings.Builder
	for _, r := range sd.Reasons {
		b.WriteString("  " + r.Detail() + "\n")
	}
	return b.String()
}

// TestBudgetNeverExceeded checks the budget step alone over a table of needs.
func TestBudgetNeverExceeded(t *testing.T) {
	p := mustPolicy(t, disaggYAML+"  budget: {maxGPUs: 9}\n")
	tests := []struct {
		name               string
		prefill, decode    int32
		wantP, wantD, want int32
	}{
		{"fits", 3, 3, 3, 3, 0},
		{"cut in proportion", 8, 8, 3, 3, 15},
		{"decode heavy", 1, 10, 1, 4, 12},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(p, Options{})
			ds := []ServiceDecision{
				{Name: "Frontend", Desired: 2, GPUsPerReplica: 0, ReplicasKnown: true},
				{Name: "Prefill", Desired: tc.prefill, GPUsPerReplica: 1, ReplicasKnown: true},
				{Name: "Decode", Desired: tc.decode, GPUsPerReplica: 2, ReplicasKnown: true},
			}
			short := st.applyBudget(p, ds)
			got := []int32{ds[0].Desired, ds[1].Desired, ds[2].Desired, short}
			if diff := cmp.Diff([]int32{2, tc.wantP, tc.wantD, tc.want}, got); diff != "" {
				t.Errorf("frontend, prefill, decode, shortfall (-want +got):\n%s", diff)
			}
			if g := totalGPUs(ds); g > 9 {
				t.Errorf("uses %d GPUs over a budget of 9", g)
			}
		})
	}
}

// TestBudgetWithUnknowns: a service whose replicas were not read this tick is counted as it
// stands and never cut (it will not be written), so the cut falls on the others; a worker whose
// GPUs per replica were never read makes the step hold (no scale-up) instead of guessing a figure.
func TestBudgetWithUnknowns(t *testing.T) {
	p := mustPolicy(t, disaggYAML+"  budget: {maxGPUs: 9}\n")
	tests := []struct {
		name        string
		prefill     ServiceDecision
		gpusUnknown bool
		want        []int32 // prefill, decode desired
		wantCode    Code    // on decode
	}{
		{name: "unknown prefill is not cut; decode takes the cut",
			prefill: ServiceDecision{Name: "Prefill", Current: 4, Desired: 4, GPUsPerReplica: 1},
			want:    []int32{4, 2}, wantCode: CodeBudgetCut},
		{name: "known prefill shares the cut",
			prefill: ServiceDecision{Name: "Prefill", Current: 4, Desired: 4, GPUsPerReplica: 1, ReplicasKnown: true},
			want:    []int32{3, 3}, wantCode: CodeBudgetCut},
		{name: "unknown GPUs hold the step: no scale-up",
			prefill:     ServiceDecision{Name: "Prefill", Current: 2, Desired: 5, GPUsPerReplica: 0, ReplicasKnown: true},
			gpusUnknown: true, want: []int32{2, 2}, wantCode: CodeBudgetHold},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(p, Options{})
			st.services[1].gpusUnknown = tc.gpusUnknown
			ds := []ServiceDecision{
				{Name: "Frontend", Desired: 2, ReplicasKnown: true},
				tc.prefill,
				{Name: "Decode", Current: 2, Desired: 5, GPUsPerReplica: 2, ReplicasKnown: true},
			}
			st.applyBudget(p, ds)
			if diff := cmp.Diff(tc.want, []int32{ds[1].Desired, ds[2].Desired}); diff != "" {
				t.Errorf("prefill, decode (-want +got):\n%s", diff)
			}
			if len(st.scratch) == 0 || st.scratch[len(st.scratch)-1].Code != tc.wantCode || st.scratch[len(st.scratch)-1].service != 2 {
				t.Errorf("reasons %+v, want a %s on decode last", st.scratch, tc.wantCode)
			}
		})
	}
}

// TestNMinusOneBlocksScaleDown exercises the stabiliser's last check directly: a scale-down the
// observed load says the smaller count cannot carry is held back.
func TestNMinusOneBlocksScaleDown(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	st := NewState(p, Options{Profile: synthProfile(t)})
	obs := steady(t0, 40, reps(1, 6, 1))
	tests := []struct {
		name      string
		cur, want int32
		wantAfter int32
	}{
		{"blocked at the need of 5 at the observed load", 6, 3, 5},
		{"allowed down to that need", 8, 3, 5},
		{"no scale-down, nothing to check", 6, 6, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d ServiceDecision
			r := run{now: t0, obs: obs, p: p, st: &st, i: 1, svc: p.ServiceAt(1), ss: &st.services[1], dec: &d,
				cur: tc.cur, ready: tc.cur, known: true, want: tc.want}
			r.dec.GPUsPerReplica = 1
			r.load = Load{InputTokens: 2000, OutputTokens: 200}
			r.keepIfNeeded()
			if r.want != tc.wantAfter {
				t.Errorf("want after check = %d, expected %d", r.want, tc.wantAfter)
			}
		})
	}
}

// TestScaleDownTolerance checks the tolerance band on scale-downs: the smaller count must carry the
// highest load planned for over the scale-down window x (1 + tolerance), or the service keeps the
// count that margin needs (never more than it has). The planned load is set at the edge of what 5
// prefill replicas carry, found by bisection.
func TestScaleDownTolerance(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	p.SLO.Objective = p.SLO.TTFT.Percentile / 100 // no check at the objective's percentile (TestScaleDownObjectiveCheck)
	st := NewState(p, Options{Profile: synthProfile(t)})
	obs := steady(t0, 40, reps(1, 6, 1)) // observed: 5 replicas' worth
	newRun := func(p policies.Policy, cur, want int32, rate float64) run {
		var d ServiceDecision
		r := run{now: t0, obs: obs, p: p, st: &st, i: 1, svc: p.ServiceAt(1), ss: &st.services[1], dec: &d,
			cur: cur, ready: cur, known: true, want: want}
		r.dec.GPUsPerReplica = 1
		r.load = Load{RequestRate: rate, InputTokenRate: rate * 2000, OutputTokenRate: rate * 200, InputTokens: 2000, OutputTokens: 200}
		return r
	}
	lo, hi := 40.0, 200.0 // the largest rate 5 replicas carry
	for range 60 {
		mid := (lo + hi) / 2
		r := newRun(p, 6, 5, mid)
		if n, _ := r.needAt(r.load); n <= 5 {
			lo = mid
		} else {
			hi = mid
		}
	}
	none := p
	none.Stability.ScaleDownTolerance = 0
	tests := []struct {
		name      string
		p         policies.Policy
		cur, want int32
		rate      float64
		window    []float64 // request rates planned for earlier in the window, oldest first
		wantAfter int32
		wantCode  Code
	}{
		{"at the smaller count's edge: held", p, 6, 5, lo, nil, 6, CodeTolerance},
		{"held only to the count the margin needs", p, 8, 5, lo, nil, 6, CodeTolerance},
		{"clears the margin: allowed", p, 6, 5, lo / 1.11, nil, 5, ""},
		{"clears it over the whole window: allowed", p, 6, 5, lo / 1.11, []float64{lo / 1.12, lo / 1.15}, 5, ""},
		{"a quiet minute after one at the edge: held", p, 6, 5, lo / 1.11, []float64{lo / 1.2, lo}, 6, CodeTolerance},
		{"no tolerance: allowed at the edge", none, 6, 5, lo, nil, 5, ""},
		{"no scale-down, nothing to check", p, 5, 5, lo, []float64{2 * lo}, 5, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st.services[1].history = nil
			for i, rate := range tc.window {
				at := t0.Add(time.Duration(i-len(tc.window)) * time.Minute)
				st.services[1].record(at, 5, Load{RequestRate: rate, InputTokenRate: rate * 2000, OutputTokenRate: rate * 200}, 5*time.Minute)
			}
			r := newRun(tc.p, tc.cur, tc.want, tc.rate)
			checkKeeps(t, &st, &r, r.keepIfNeeded, tc.wantAfter, tc.wantCode)
		})
	}
}

// TestBurnWhileStartingHoldsOnlyForAScaleUp checks the error budget's read of "replicas
// starting": misses while this planner's own scale-up starts hold the level, but replicas that are
// not ready without one (never asked for by this planner, or past the startup timeout: a pod that
// never became ready) do not, and the burn tightens and is flagged for the burn memory.
func TestBurnWhileStartingHoldsOnlyForAScaleUp(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	tests := []struct {
		name      string
		lastUp    time.Duration // before t0; 0: never scaled up
		ready     int32         // of 6
		startSeen time.Duration // before t0, the last interval a scale-up was starting; 0: never
		wantCode  Code
	}{
		{"a scale-up a minute ago is starting", time.Minute, 4, 0, CodeRiskHeld},
		{"no scale-up: replicas unready for another cause", 0, 4, 0, CodeRiskTightened},
		{"a scale-up past the startup timeout", time.Hour, 4, 0, CodeRiskTightened},
		{"ready now, starting a window ago: the window holds the start's misses", 5 * time.Minute, 6, time.Minute, CodeRiskHeld},
		{"ready for longer than a window: the misses are the margin's", 5 * time.Minute, 6, 2 * time.Minute, CodeRiskTightened},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(p, Options{Profile: synthProfile(t)})
			obs := steady(t0, 40, reps(1, 6, 1))
			obs.TTFTAttained, obs.ITLAttained = Known(0.9), Known(1)
			ss := &st.services[1]
			ss.risk = risk{e: defaultRisk, long: 0.1, haveRecent: true}
			if tc.lastUp > 0 {
				ss.lastUp = t0.Add(-tc.lastUp)
			}
			if tc.startSeen > 0 {
				ss.startingSeen = t0.Add(-tc.startSeen)
			}
			var d ServiceDecision
			r := run{now: t0, obs: obs, p: p, st: &st, i: 1, svc: p.ServiceAt(1), ss: ss, dec: &d,
				cur: 6, ready: tc.ready, known: true, want: 6}
			r.errorBudget()
			got := st.scratch[len(st.scratch)-1].Code
			if got != tc.wantCode {
				t.Errorf("error-budget code = %s, want %s", got, tc.wantCode)
			}
			// The burn memory (burned.go) is told of a tightening, never of a hold.
			if want := tc.wantCode == CodeRiskTightened; r.burning != want {
				t.Errorf("burning = %v, want %v", r.burning, want)
			}
		})
	}
}

// TestDrainedWindowHolds checks the hold for the interval after this planner's scale-up became
// ready: while the metrics window still reaches back to the start and requests in flight fell
// (the start's backlog draining, whose completions the arrivals estimate partly reads as load),
// the count is kept; a load still growing (in flight not falling), a window clear of the start,
// or no start at all leave the sized change through.
func TestDrainedWindowHolds(t *testing.T) {
	p := mustPolicy(t, disaggYAML) // metrics window 1m
	tests := []struct {
		name      string
		startSeen time.Duration // before t0, the last interval the scale-up was starting; 0: never
		draining  bool
		want      int32 // sized, against 8 current
		wantAfter int32
		wantCode  Code
	}{
		{"draining just after the start: held", time.Minute, true, 11, 8, CodeDrained},
		{"draining, scale-down: held too", time.Minute, true, 6, 8, CodeDrained},
		{"load still growing after the start: through", time.Minute, false, 11, 11, ""},
		{"draining, the window clear of the start: through", 2 * time.Minute, true, 11, 11, ""},
		{"draining, no start: through", 0, true, 11, 11, ""},
		{"nothing to hold", time.Minute, true, 8, 8, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(p, Options{Profile: synthProfile(t)})
			ss := &st.services[1]
			if tc.startSeen > 0 {
				ss.startingSeen = t0.Add(-tc.startSeen)
			}
			var d ServiceDecision
			r := run{now: t0, obs: steady(t0, 40, reps(1, 8, 1)), p: p, st: &st, i: 1, svc: p.ServiceAt(1), ss: ss, dec: &d,
				cur: 8, ready: 8, known: true, want: tc.want, draining: tc.draining}
			checkKeeps(t, &st, &r, func() { r.starting() }, tc.wantAfter, tc.wantCode)
		})
	}
}
