package planner_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

var loopT0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// loopPolicy is an aggregated policy with one Worker service bounded to [min, 4].
func loopPolicy(t testing.TB, name, mode string, interval time.Duration, minReplicas int) policies.Policy {
	t.Helper()
	y := fmt.Sprintf(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: %s}
spec:
  target: {namespace: llm, deployment: %s, topology: aggregated}
  mode: %s
  services:
    - {name: Worker, role: aggregated, minReplicas: %d, maxReplicas: 4, gpusPerReplica: 1, startupTime: 1m}
  slo:
    ttft: {target: 500ms}
    itl: {target: 30ms}
  metrics: {model: m}
  planning: {interval: %s}
`, name, name, mode, minReplicas, interval)
	p, err := policies.Parse([]byte(y), name+".yaml")
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	return p
}

// fakeObserver answers healthy observations; per policy it can fail or block until released.
type fakeObserver struct {
	mu    sync.Mutex
	err   map[string]error
	block map[string]chan struct{}
	// entered receives the name of a policy whose Observe is blocking.
	entered chan string
}

func (f *fakeObserver) Observe(ctx context.Context, p policies.Policy, now time.Time) (planner.Observations, error) {
	f.mu.Lock()
	err, block := f.err[p.Name], f.block[p.Name]
	f.mu.Unlock()
	if block != nil {
		f.entered <- p.Name
		<-block
	}
	if err != nil {
		return planner.Observations{}, err
	}
	k := planner.Known
	return planner.Observations{Time: now, Window: time.Minute, RequestRate: k(1), InputTokens: k(1000),
		OutputTokens: k(100), TTFT: k(0.1), TTFTPercentile: k(0.2), ITL: k(0.01), ITLPercentile: k(0.012),
		QueueDepth: k(0), Inflight: k(1), KVUsage: k(0.1), ArrivalCV: k(1)}, nil
}

// fakeCluster is the cluster: per policy, the Worker's spec replicas. Apply writes them.
type fakeCluster struct {
	mu      sync.Mutex
	desired map[string]int32
	readErr error
	writes  []string // "policy/service=n"
}

func (f *fakeCluster) Replicas(ctx context.Context, p policies.Policy) ([]planner.ServiceObservation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return nil, f.readErr
	}
	n := f.desired[p.Name]
	return []planner.ServiceObservation{{Name: "Worker", Desired: n, Ready: n, ReplicasKnown: true, GPUsPerReplica: 1}}, nil
}

func (f *fakeCluster) Apply(ctx context.Context, p policies.Policy, d planner.Decision, dryRun bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range d.Services {
		if !s.Write {
			continue
		}
		if dryRun {
			f.writes = append(f.writes, fmt.Sprintf("%s/%s=%d dry-run", p.Name, s.Name, s.Desired))
			continue
		}
		f.desired[p.Name] = s.Desired
		f.writes = append(f.writes, fmt.Sprintf("%s/%s=%d", p.Name, s.Name, s.Desired))
	}
	return nil
}

func (f *fakeCluster) written() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

// ticks is a Recorder that forwards every tick to a channel.
type ticks chan planner.Tick

func (c ticks) Record(t planner.Tick) { c <- t }

// next returns the next recorded tick or fails on a hang: in a synctest bubble, the bound passes
// at once when every goroutine is blocked and no tick is coming.
func (c ticks) next(t *testing.T) planner.Tick {
	t.Helper()
	select {
	case tk := <-c:
		return tk
	case <-time.After(20 * time.Second):
		t.Fatal("no tick recorded")
	}
	return planner.Tick{}
}

// harness runs a Loop on a fake clock.
type harness struct {
	clock   *testingclock.FakeClock
	loop    *planner.Loop
	ticks   ticks
	obs     *fakeObserver
	cluster *fakeCluster
	cancel  context.CancelFunc
	done    chan error
}

func newHarness(t *testing.T, mutate func(*planner.LoopConfig)) *harness {
	t.Helper()
	h := &harness{
		clock: testingclock.NewFakeClock(loopT0), ticks: make(ticks, 1000),
		obs:     &fakeObserver{err: map[string]error{}, block: map[string]chan struct{}{}, entered: make(chan string, 10)},
		cluster: &fakeCluster{desired: map[string]int32{}},
		done:    make(chan error, 1),
	}
	cfg := planner.LoopConfig{Clock: h.clock, Observer: h.obs, Replicas: h.cluster, Applier: h.cluster,
		Recorder: h.ticks, Logger: slog.New(slog.DiscardHandler)}
	if mutate != nil {
		mutate(&cfg)
	}
	loop, err := planner.NewLoop(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.loop = loop
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- loop.Run(ctx) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.cancel()
	err := <-h.done
	h.done <- err // for the next stop (a test's own, then the cleanup's)
}

// update hands the running loop a policy set, which it must accept.
func (h *harness) update(t *testing.T, ps ...policies.Policy) {
	t.Helper()
	if err := h.loop.Update(ps); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// inBubble runs a test in a testing/synctest bubble. Every Loop test runs in one: synctest.Wait
// tells when every goroutine of the loop is blocked (no polling), and a hang fails at once
// instead of after a wall-clock bound.
func inBubble(f func(t *testing.T)) func(t *testing.T) {
	return func(t *testing.T) { synctest.Test(t, f) }
}

// waitTimers waits until every goroutine of the bubble is blocked, then checks that at least n
// timers are pending on the fake clock (every worker is idle).
func (h *harness) waitTimers(t *testing.T, n int) {
	t.Helper()
	synctest.Wait()
	if got := h.clock.Waiters(); got < n {
		t.Fatalf("only %d of %d workers waiting", got, n)
	}
}

// waitExactTimers waits until every goroutine of the bubble is blocked, then checks that exactly
// n timers are pending on the fake clock.
func (h *harness) waitExactTimers(t *testing.T, n int) {
	t.Helper()
	synctest.Wait()
	if got := h.clock.Waiters(); got != n {
		t.Fatalf("%d timers pending, want %d", got, n)
	}
}

func TestLoopOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		mode       string
		dryRun     bool
		follower   bool
		cluster    int32
		readErr    error
		observeErr error
		want       planner.Outcome
		wantWrites []string
		wantStages []planner.Stage
	}{
		{name: "below min is written", mode: "apply", cluster: 1, want: planner.OutcomeApplied,
			wantWrites: []string{"p/Worker=2"}},
		{name: "already at min", mode: "apply", cluster: 2, want: planner.OutcomeNoChange},
		{name: "policy in dry-run", mode: "dry-run", cluster: 1, want: planner.OutcomeDryRun,
			wantWrites: []string{"p/Worker=2 dry-run"}},
		{name: "process in dry-run", mode: "apply", dryRun: true, cluster: 1, want: planner.OutcomeDryRun,
			wantWrites: []string{"p/Worker=2 dry-run"}},
		{name: "dry-run follower checks nothing", mode: "dry-run", follower: true, cluster: 1, want: planner.OutcomeFollower},
		{name: "follower computes only", mode: "apply", follower: true, cluster: 1, want: planner.OutcomeFollower},
		{name: "cluster unreadable", mode: "apply", readErr: errors.New("dgd not found"),
			want: planner.OutcomeNoChange, wantStages: []planner.Stage{planner.StageReplicas}},
		{name: "observer failed", mode: "apply", cluster: 1, observeErr: errors.New("bad query"),
			want: planner.OutcomeApplied, wantWrites: []string{"p/Worker=2"},
			wantStages: []planner.Stage{planner.StageObserve}},
	}
	for _, tc := range tests {
		t.Run(tc.name, inBubble(func(t *testing.T) {
			h := newHarness(t, func(c *planner.LoopConfig) {
				c.DryRun = tc.dryRun
				c.Leading = func() bool { return !tc.follower }
			})
			h.cluster.desired["p"], h.cluster.readErr = tc.cluster, tc.readErr
			h.obs.err["p"] = tc.observeErr
			h.update(t, loopPolicy(t, "p", tc.mode, 15*time.Second, 2))
			tk := h.ticks.next(t)
			var stages []planner.Stage
			for _, e := range tk.Errors {
				stages = append(stages, e.Stage)
			}
			if tk.Outcome != tc.want {
				t.Errorf("outcome = %s, want %s", tk.Outcome, tc.want)
			}
			if diff := cmp.Diff(tc.wantStages, stages); diff != "" {
				t.Errorf("error stages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWrites, h.cluster.written()); diff != "" {
				t.Errorf("writes (-want +got):\n%s", diff)
			}
		}))
	}
}

func TestLoopTicksEachPolicyOnItsInterval(t *testing.T) {
	synctest.Test(t, loopTicksEachPolicyOnItsInterval)
}

func loopTicksEachPolicyOnItsInterval(t *testing.T) {
	h := newHarness(t, nil)
	h.cluster.desired["fast"], h.cluster.desired["slow"] = 2, 2
	h.update(t,
		loopPolicy(t, "fast", "apply", 15*time.Second, 2),
		loopPolicy(t, "slow", "apply", time.Minute, 2),
	)
	got := map[string][]time.Duration{}
	record := func(tk planner.Tick) { got[tk.Policy.Name] = append(got[tk.Policy.Name], tk.Time.Sub(loopT0)) }
	record(h.ticks.next(t))
	record(h.ticks.next(t))
	for step := 1; step <= 4; step++ {
		h.waitTimers(t, 2)
		h.clock.Step(15 * time.Second)
		record(h.ticks.next(t))
		if step == 4 {
			record(h.ticks.next(t))
		}
	}
	want := map[string][]time.Duration{
		"fast": {0, 15 * time.Second, 30 * time.Second, 45 * time.Second, time.Minute},
		"slow": {0, time.Minute},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tick times (-want +got):\n%s", diff)
	}
}

func TestLoopSlowPolicyDoesNotBlockOthers(t *testing.T) {
	synctest.Test(t, loopSlowPolicyDoesNotBlockOthers)
}

func loopSlowPolicyDoesNotBlockOthers(t *testing.T) {
	h := newHarness(t, nil)
	release := make(chan struct{})
	h.obs.block["stuck"] = release
	h.cluster.desired["stuck"], h.cluster.desired["ok"] = 2, 2
	h.update(t,
		loopPolicy(t, "stuck", "apply", 15*time.Second, 2),
		loopPolicy(t, "ok", "apply", 15*time.Second, 2),
	)
	if name := <-h.obs.entered; name != "stuck" {
		t.Fatalf("%s blocked, want stuck", name)
	}
	var okTicks int
	if tk := h.ticks.next(t); tk.Policy.Name == "ok" {
		okTicks++
	}
	for range 3 {
		h.waitTimers(t, 1) // only "ok" is waiting: "stuck" is inside its first tick
		h.clock.Step(15 * time.Second)
		if tk := h.ticks.next(t); tk.Policy.Name == "ok" {
			okTicks++
		}
	}
	if okTicks != 4 {
		t.Errorf("the healthy policy ticked %d times while the other was stuck, want 4", okTicks)
	}
	// Shutdown waits for the stuck tick, which then completes and is recorded.
	h.cancel()
	close(release)
	if tk := h.ticks.next(t); tk.Policy.Name != "stuck" || tk.Outcome != planner.OutcomeNoChange {
		t.Errorf("tick finished on shutdown = %s/%s, want stuck/no-change", tk.Policy.Name, tk.Outcome)
	}
	if err := <-h.done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	h.done <- nil
}

func TestLoopUpdateSwapsPolicies(t *testing.T) { synctest.Test(t, loopUpdateSwapsPolicies) }

func loopUpdateSwapsPolicies(t *testing.T) {
	h := newHarness(t, nil)
	h.cluster.desired["a"], h.cluster.desired["b"] = 2, 2
	h.update(t, loopPolicy(t, "a", "apply", 15*time.Second, 2))
	h.ticks.next(t)
	// Raise a's floor and add b: a's next tick writes the new floor, b starts at once.
	h.update(t, loopPolicy(t, "a", "apply", 15*time.Second, 3), loopPolicy(t, "b", "apply", 15*time.Second, 2))
	if tk := h.ticks.next(t); tk.Policy.Name != "b" {
		t.Fatalf("first tick after the update is %s, want the new policy b", tk.Policy.Name)
	}
	h.waitTimers(t, 2)
	h.clock.Step(15 * time.Second)
	h.ticks.next(t)
	h.ticks.next(t)
	if diff := cmp.Diff([]string{"a/Worker=3"}, h.cluster.written()); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
	// Remove a: it stops ticking and leaves Latest. Both workers wait first, so that one waiter
	// left means a's worker has gone (not b's timer yet to be set).
	h.waitTimers(t, 2)
	h.update(t, loopPolicy(t, "b", "apply", 15*time.Second, 2))
	h.waitExactTimers(t, 1)
	h.clock.Step(15 * time.Second)
	if tk := h.ticks.next(t); tk.Policy.Name != "b" {
		t.Errorf("tick after removal from %s, want b", tk.Policy.Name)
	}
	if _, ok := h.loop.Latest("a"); ok {
		t.Error("removed policy still has a latest tick")
	}
	if diff := cmp.Diff([]string{"b"}, h.loop.Policies()); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
}

func TestLoopLogsOneInfoLinePerChange(t *testing.T) { synctest.Test(t, loopLogsOneInfoLinePerChange) }

func loopLogsOneInfoLinePerChange(t *testing.T) {
	var buf syncBuffer
	h := newHarness(t, func(c *planner.LoopConfig) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	h.cluster.desired["p"] = 1
	h.update(t, loopPolicy(t, "p", "apply", 15*time.Second, 2))
	h.ticks.next(t)
	for range 3 {
		h.waitTimers(t, 1)
		h.clock.Step(15 * time.Second)
		h.ticks.next(t)
	}
	h.stop()
	if n := strings.Count(buf.String(), `msg="decision changed"`); n != 1 {
		t.Errorf("%d Info lines for one change over 4 ticks, want 1:\n%s", n, buf.String())
	}
	if strings.Contains(buf.String(), `msg=decision `) {
		t.Errorf("unchanged decisions logged at Info:\n%s", buf.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the loop's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// countingForecaster counts the points it observes.
type countingForecaster struct{ seen *int }

func (f countingForecaster) Name() string      { return "counting" }
func (f countingForecaster) Observe(v float64) { *f.seen++ }
func (f countingForecaster) Forecast(dst []forecast.Point, h int, _ float64) []forecast.Point {
	return dst
}
func (f countingForecaster) Clone() forecast.Forecaster { return f }

// history returns n points of steady load.
type history struct{ n int }

func (h history) History(ctx context.Context, p policies.Policy, now time.Time) (planner.LoadHistory, error) {
	s := make([]float64, h.n)
	for i := range s {
		s[i] = 1
	}
	s[0] = math.NaN()
	return planner.LoadHistory{RequestRate: s, InputTokens: s, OutputTokens: s}, nil
}

func TestLoopWarmsForecastersFromHistory(t *testing.T) {
	synctest.Test(t, loopWarmsForecastersFromHistory)
}

func loopWarmsForecastersFromHistory(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]*int{}
	h := newHarness(t, func(c *planner.LoopConfig) {
		c.History = history{n: 40}
		c.NewState = func(p policies.Policy) planner.State {
			return planner.NewState(p, planner.Options{NewForecaster: func(policies.Forecast, time.Duration) forecast.Forecaster {
				mu.Lock()
				defer mu.Unlock()
				n := new(int)
				seen[fmt.Sprint(len(seen))] = n
				return countingForecaster{n}
			}})
		}
	})
	h.cluster.desired["p"] = 2
	h.update(t, loopPolicy(t, "p", "apply", 15*time.Second, 2))
	h.ticks.next(t)
	h.stop()
	mu.Lock()
	defer mu.Unlock()
	got := map[string]int{}
	for k, v := range seen {
		got[k] = *v
	}
	// 40 history points, then the first live tick's point.
	want := map[string]int{"0": 41, "1": 41, "2": 41}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("points observed per forecaster (-want +got):\n%s", diff)
	}
}

// TestLoopUpdateRacesRun hands policy sets to a Loop from several goroutines while Run starts:
// whatever the interleaving, the newest set is the one that ticks (issue 13 defect 7: an update
// landing while Run started used to be cancelled by Run's stale copy of the pending set).
func TestLoopUpdateRacesRun(t *testing.T) {
	tests := []struct {
		name   string
		before bool // an Update before Run starts
	}{
		{name: "update only after go Run"},
		{name: "update before and after go Run", before: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, inBubble(func(t *testing.T) {
			clk := testingclock.NewFakeClock(loopT0)
			rec := make(ticks, 100)
			cl := &fakeCluster{desired: map[string]int32{"old": 2, "new": 2}}
			loop, err := planner.NewLoop(planner.LoopConfig{Clock: clk, Observer: &fakeObserver{}, Replicas: cl,
				Applier: cl, Recorder: rec, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			if tc.before {
				if err := loop.Update([]policies.Policy{loopPolicy(t, "old", "apply", 15*time.Second, 2)}); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- loop.Run(ctx) }()
			if err := loop.Update([]policies.Policy{loopPolicy(t, "new", "apply", 15*time.Second, 2)}); err != nil {
				t.Fatal(err)
			}
			tk := rec.next(t)
			for tk.Policy.Name != "new" { // "old" may tick once before the newer set replaced it
				tk = rec.next(t)
			}
			if diff := cmp.Diff([]string{"new"}, loop.Policies()); diff != "" {
				t.Errorf("policies (-want +got):\n%s", diff)
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		}))
	}
}

// TestLoopRefusesUpdatesAfterRun: once Run has returned, Update starts nothing (no worker, no
// history backfill) and says so, and Run does not start again.
func TestLoopRefusesUpdatesAfterRun(t *testing.T) { synctest.Test(t, loopRefusesUpdatesAfterRun) }

func loopRefusesUpdatesAfterRun(t *testing.T) {
	backfills := make(chan string, 10)
	h := newHarness(t, func(c *planner.LoopConfig) { c.History = recordingHistory(backfills) })
	h.cluster.desired["p"] = 2
	if err := h.loop.Update([]policies.Policy{loopPolicy(t, "p", "apply", 15*time.Second, 2)}); err != nil {
		t.Fatal(err)
	}
	h.ticks.next(t)
	h.stop()
	if got := <-backfills; got != "p" {
		t.Fatalf("backfilled %q, want p", got)
	}
	if err := h.loop.Update([]policies.Policy{loopPolicy(t, "late", "apply", 15*time.Second, 2)}); !errors.Is(err, planner.ErrLoopStopped) {
		t.Errorf("Update after Run = %v, want ErrLoopStopped", err)
	}
	if err := h.loop.Run(context.Background()); !errors.Is(err, planner.ErrLoopStopped) {
		t.Errorf("second Run = %v, want ErrLoopStopped", err)
	}
	if h.loop.Ticked() {
		t.Error("a stopped loop reports every policy ticked")
	}
	select {
	case name := <-backfills:
		t.Errorf("a stopped loop backfilled %q", name)
	default:
	}
	if n := len(h.ticks); n != 0 {
		t.Errorf("%d ticks recorded after Run returned", n)
	}
}

// recordingHistory sends each backfilled policy's name and returns no history.
type recordingHistory chan string

func (r recordingHistory) History(ctx context.Context, p policies.Policy, now time.Time) (planner.LoadHistory, error) {
	r <- p.Name
	return planner.LoadHistory{}, nil
}
