package planner

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/tidal-planner/tidal/policies"
)

// Observer reads one tick's metric observations of a policy as of now. Missing signals are
// missing Values, not errors; an error means nothing could be observed (e.g. an invalid query).
// Implementations must be safe for concurrent use: every policy's ticks call it.
type Observer interface {
	Observe(ctx context.Context, p policies.Policy, now time.Time) (Observations, error)
}

// ReplicaReader reads the cluster's replica state of a policy's services: for each service it
// can read, an entry with Name, Desired (DGDSA spec.replicas), Ready (DGD status), GPUsPerReplica
// and ReplicasKnown set. Services it could not read are left out or have ReplicasKnown false;
// the error says why. Safe for concurrent use.
type ReplicaReader interface {
	Replicas(ctx context.Context, p policies.Policy) ([]ServiceObservation, error)
}

// Applier writes a decision to the cluster. It writes every service whose actuation is
// policies.ActuationScale and whose desired count differs from what the cluster holds, skipping
// the others; the error joins every service that failed. With dryRun it persists nothing (it may
// still check the write with the API server and record what it would have done). Safe for
// concurrent use.
type Applier interface {
	Apply(ctx context.Context, p policies.Policy, d Decision, dryRun bool) error
}

// HistoryReader reads a policy's past load so the forecasters start warm. Optional.
type HistoryReader interface {
	History(ctx context.Context, p policies.Policy, now time.Time) (LoadHistory, error)
}

// Recorder receives every tick's outcome (for metrics and /debug/decisions). Record is called
// from the policy's own goroutine and must not block for long; it must be safe for concurrent
// use. The Tick and everything it references must be treated as read-only.
type Recorder interface {
	Record(t Tick)
}

// Stage names the part of a tick that failed.
type Stage string

// Stages of a tick.
const (
	StageHistory  Stage = "history"  // backfilling the forecast history at start
	StageObserve  Stage = "observe"  // reading Prometheus
	StageReplicas Stage = "replicas" // reading the cluster's replica counts
	StagePlan     Stage = "plan"     // Plan panicked (a bug; the policy keeps ticking)
	StageApply    Stage = "apply"    // writing the decision
)

// TickError is one failure of a tick.
type TickError struct {
	Stage Stage
	Err   error
}

// Outcome says what a tick did with its decision.
type Outcome string

// Outcomes of a tick.
const (
	OutcomeApplied  Outcome = "applied"   // a write was made (or attempted: see Errors)
	OutcomeNoChange Outcome = "no-change" // nothing to write
	OutcomeDryRun   Outcome = "dry-run"   // dry-run (policy or process): checked, not persisted
	OutcomeFollower Outcome = "follower"  // not the leader: computed, not written
	OutcomeFailed   Outcome = "failed"    // no decision (Plan panicked)
)

// Tick is the outcome of one policy's tick.
type Tick struct {
	Policy       policies.Policy
	Time         time.Time     // the decision time (from the loop's clock)
	Duration     time.Duration // wall time the tick took, by the loop's clock
	Observations Observations
	Decision     Decision
	Outcome      Outcome
	// Changed is true when some service's desired count differs from the previous tick's (or
	// this is the policy's first decision).
	Changed bool
	Errors  []TickError
}

// LoopConfig wires a Loop. Observer, Replicas and Applier are required.
type LoopConfig struct {
	Clock    clock.Clock // default clock.RealClock{}
	Observer Observer
	Replicas ReplicaReader
	Applier  Applier
	History  HistoryReader // optional: warm the forecasters at start
	// Scrape, when set, measures each policy's frontend scrape interval, and every tick runs the
	// policy fitted to it (policies.Policy.FitScrape; loop_scrape.go).
	Scrape   ScrapeReader
	Recorder Recorder     // optional
	Logger   *slog.Logger // default slog.Default()
	// DryRun makes every policy dry-run, whatever its mode says.
	DryRun bool
	// Leading reports whether this process may write; nil means always. A follower computes and
	// records every tick so that it is warm when it takes over.
	Leading func() bool
	// NewState builds a policy's initial planner state (default NewState(p, Options{})).
	NewState func(policies.Policy) State
	// TickTimeout bounds one tick's I/O (default: three quarters of the policy's interval, so
	// a tick whose I/O hangs ends before the next slot and the next tick is not skipped).
	TickTimeout time.Duration
	// Spread delays each policy's first tick by a fixed fraction of its interval derived from its
	// name, so many policies do not all query Prometheus at the same instant.
	Spread bool
	// Backfills bounds how many policies read and feed their history at once (default
	// DefaultBackfills; see loop_warm.go). A policy waiting for its turn has not ticked yet.
	Backfills int
}

// Loop runs every policy's ticks: every planning interval it observes, plans and applies. Each
// policy runs in its own goroutine, so a slow or failing policy never delays another. A Loop is
// safe for concurrent use.
//
// Policy sets reach the running loop over a channel: Run alone starts and stops workers, in the
// order the sets arrived, so a set handed over while Run starts can never be overwritten by an
// older one.
type Loop struct {
	cfg LoopConfig

	// backfills holds one token per history backfill in progress (capacity cfg.Backfills).
	backfills chan struct{}

	// updates carries policy sets to Run; stopped is closed when Run stops taking them.
	updates chan loopUpdate
	stopped chan struct{}

	mu      sync.Mutex
	phase   loopPhase
	pending []policies.Policy // the set given before Run started
	names   []string          // the newest set's policy names, sorted
	workers map[string]*worker
	latest  map[string]Tick
}

// loopPhase is where a Loop is in its life.
type loopPhase int

const (
	phaseIdle    loopPhase = iota // Run not called yet: Update keeps the newest set
	phaseRunning                  // Run applies each set as it arrives
	phaseStopped                  // Run returned (or is returning): Update refuses
)

// loopUpdate is one policy set on its way to Run; Run closes applied once workers match it.
type loopUpdate struct {
	ps      []policies.Policy
	applied chan struct{}
}

// ErrLoopStopped is returned by Update once Run has returned (or is returning) and by a second
// call to Run: a stopped Loop starts no worker again.
var ErrLoopStopped = errors.New("the planning loop has stopped")

// NewLoop returns a Loop; call Run to start it.
func NewLoop(cfg LoopConfig) (*Loop, error) {
	if cfg.Observer == nil || cfg.Replicas == nil || cfg.Applier == nil {
		return nil, errors.New("creating the planning loop: Observer, Replicas and Applier are required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NewState == nil {
		cfg.NewState = func(p policies.Policy) State { return NewState(p, Options{}) }
	}
	if cfg.Backfills <= 0 {
		cfg.Backfills = DefaultBackfills
	}
	return &Loop{cfg: cfg, backfills: make(chan struct{}, cfg.Backfills), updates: make(chan loopUpdate),
		stopped: make(chan struct{}), workers: map[string]*worker{}, latest: map[string]Tick{}}, nil
}

// Run ticks the policies given to Update (before or while running) until ctx ends, then lets
// every tick in progress finish (its I/O keeps its own deadline) and returns ctx's error. A Loop
// runs once: a second Run returns ErrLoopStopped (or an error saying it is already running).
func (l *Loop) Run(ctx context.Context) error {
	l.mu.Lock()
	switch l.phase {
	case phaseRunning:
		l.mu.Unlock()
		return errors.New("running the planning loop: already running")
	case phaseStopped:
		l.mu.Unlock()
		return fmt.Errorf("running the planning loop: %w", ErrLoopStopped)
	}
	l.phase = phaseRunning
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()

	var wg sync.WaitGroup // only this goroutine adds to it and waits on it
	l.applySet(ctx, &wg, pending)
	for {
		select {
		case u := <-l.updates:
			l.applySet(ctx, &wg, u.ps)
			close(u.applied)
		case <-ctx.Done():
			l.stop()
			wg.Wait()
			return ctx.Err()
		}
	}
}

// stop refuses further updates and cancels every worker; their ticks in progress finish.
func (l *Loop) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.phase = phaseStopped
	close(l.stopped)
	for _, w := range l.workers {
		w.cancel()
	}
}

// Update replaces the set of policies, matched by name: new policies start ticking, removed ones
// stop after their tick in progress, and changed ones take effect at their next tick, keeping
// their planner state unless the interval or forecast settings changed. Before Run it keeps the
// set for Run to start; while Run runs it returns once Run has applied the set; once Run has
// stopped it changes nothing and returns ErrLoopStopped.
func (l *Loop) Update(ps []policies.Policy) error {
	ps = slices.Clone(ps)
	l.mu.Lock()
	switch l.phase {
	case phaseIdle:
		l.pending, l.names = ps, policyNames(ps)
		l.mu.Unlock()
		return nil
	case phaseStopped:
		l.mu.Unlock()
		return ErrLoopStopped
	}
	l.mu.Unlock()
	u := loopUpdate{ps: ps, applied: make(chan struct{})}
	select {
	case l.updates <- u:
		<-u.applied // Run closes it right after applying, whatever ctx does
		return nil
	case <-l.stopped:
		return ErrLoopStopped
	}
}

// applySet makes the workers match ps; it runs on Run's goroutine only.
func (l *Loop) applySet(ctx context.Context, wg *sync.WaitGroup, ps []policies.Policy) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = policyNames(ps)
	keep := map[string]bool{}
	for _, p := range ps {
		keep[p.Name] = true
		if w, ok := l.workers[p.Name]; ok {
			w.set(p)
			continue
		}
		l.start(ctx, wg, p)
	}
	for name, w := range l.workers {
		if !keep[name] {
			w.cancel()
			delete(l.workers, name)
			delete(l.latest, name)
		}
	}
}

func policyNames(ps []policies.Policy) []string {
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// Policies returns the names of the newest policy set, sorted.
func (l *Loop) Policies() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.names)
}

// Latest returns the last tick of a policy, if it has ticked.
func (l *Loop) Latest(policy string) (Tick, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.latest[policy]
	return t, ok
}

// Ticked reports whether the loop runs and every current policy has completed at least one tick.
func (l *Loop) Ticked() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.phase != phaseRunning {
		return false
	}
	for name := range l.workers {
		if _, ok := l.latest[name]; !ok {
			return false
		}
	}
	return true
}

// start launches a worker for p under Run's ctx and wg; l.mu must be held.
func (l *Loop) start(ctx context.Context, wg *sync.WaitGroup, p policies.Policy) {
	ctx, cancel := context.WithCancel(ctx)
	w := &worker{loop: l, cancel: cancel, updates: make(chan policies.Policy, 1)}
	l.workers[p.Name] = w
	wg.Go(func() { w.run(ctx, p) })
}

// store records a policy's latest tick unless the policy was removed meanwhile, and reports
// whether it did (a removed policy's last tick is not published either).
func (l *Loop) store(t Tick) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.workers[t.Policy.Name]; !ok {
		return false
	}
	l.latest[t.Policy.Name] = t
	return true
}

// worker ticks one policy.
type worker struct {
	loop    *Loop
	cancel  context.CancelFunc
	updates chan policies.Policy // capacity 1: the newest policy wins
}

// set hands the worker a new version of its policy, replacing one not yet picked up.
func (w *worker) set(p policies.Policy) {
	for {
		select {
		case w.updates <- p:
			return
		default:
		}
		select {
		case <-w.updates:
		default:
		}
	}
}

// run is the worker's goroutine: warm up, then tick on schedule until ctx ends.
func (w *worker) run(ctx context.Context, p policies.Policy) {
	l := w.loop
	base, sf := p, scrapeFit{}
	p = l.fit(ctx, base, &sf)
	st := l.cfg.NewState(p)
	l.warm(ctx, p, &st)
	next := l.cfg.Clock.Now()
	if l.cfg.Spread {
		next = next.Add(phase(p.Name, p.Planning.Interval))
	}
	var prev *Decision
	for {
		if !w.wait(ctx, next) {
			return
		}
		select {
		case np := <-w.updates:
			base = np
			np = l.fit(ctx, base, &sf)
			st = l.adopt(ctx, p, np, st)
			p = np
		default:
			p = l.fit(ctx, base, &sf)
		}
		t := l.tick(ctx, p, &st, prev)
		if t.Outcome != OutcomeFailed {
			prev = &t.Decision
		}
		next = nextTick(next, l.cfg.Clock.Now(), p.Planning.Interval)
	}
}

// wait blocks until the clock reaches next or ctx ends; it reports whether to tick.
func (w *worker) wait(ctx context.Context, next time.Time) bool {
	if ctx.Err() != nil {
		return false
	}
	d := next.Sub(w.loop.cfg.Clock.Now())
	if d <= 0 {
		return true
	}
	t := w.loop.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}

// nextTick returns the first tick time after now on the grid prev + k*interval, so a tick that
// overran its interval skips the missed slots rather than bursting.
func nextTick(prev, now time.Time, interval time.Duration) time.Time {
	if interval <= 0 {
		interval = time.Minute
	}
	next := prev.Add(interval)
	if !next.After(now) {
		missed := now.Sub(next)/interval + 1
		next = next.Add(missed * interval)
	}
	return next
}

// phase is a stable offset in [0, interval) derived from the policy name.
func phase(name string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// adopt switches a worker to a new version of its policy: the planner state is kept (Plan matches
// services by name) unless the interval or forecast settings changed, which invalidates the
// forecasters' history; then it starts afresh and warms up again.
func (l *Loop) adopt(ctx context.Context, old, p policies.Policy, st State) State {
	if old.Planning.Interval == p.Planning.Interval && old.Planning.Forecast == p.Planning.Forecast {
		return st
	}
	l.cfg.Logger.Info("policy forecast settings changed; restarting its forecasts", "policy", p.Name)
	st = l.cfg.NewState(p)
	l.warm(ctx, p, &st)
	return st
}

// tickContext is the context of one tick's I/O: it is not cancelled with the loop (a tick in
// progress finishes on shutdown) but it has the tick deadline.
func (l *Loop) tickContext(ctx context.Context, p policies.Policy) (context.Context, context.CancelFunc) {
	timeout := l.cfg.TickTimeout
	if timeout <= 0 {
		timeout = p.Planning.Interval * 3 / 4
	}
	if timeout <= 0 {
		timeout = time.Minute
	}
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}

// errPanic wraps a recovered panic.
type errPanic struct{ v any }

func (e errPanic) Error() string { return fmt.Sprintf("panic: %v", e.v) }
