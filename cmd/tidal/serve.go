package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/model"
	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/policies"
	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/keda"
	"github.com/tidal-planner/tidal/scaler/leader"
)

// deps are what serve needs from its environment; tests substitute them.
type deps struct {
	clock  clock.Clock
	rest   *rest.Config
	logger *slog.Logger
	// listener, when set, serves the ops endpoints instead of listening on --listen.
	listener net.Listener
	// kedaListener, when set, serves the KEDA external scaler instead of listening on --keda-listen.
	kedaListener net.Listener
	// kedaChanges wakes the KEDA streams after every tick (set by serve when nil).
	kedaChanges *keda.Broadcast
	// started, when set, receives the running loop and recorder once everything is wired.
	started func(*planner.Loop, *ops.Recorder)
	// newState, when set, replaces the planner state builder (tests use it to size without
	// forecasts, so expected replica counts are exact).
	newState func(policies.Policy) planner.State
}

// serve runs tidal until ctx ends: the planning loop over ps, the ops endpoints, policy hot
// reload and leader election, as the flags say. It returns after every tick in progress has
// finished and the lease is released.
func serve(ctx context.Context, f runFlags, ps []policies.Policy, d deps) error {
	if d.kedaChanges == nil {
		d.kedaChanges = &keda.Broadcast{}
	}
	kube, err := kubernetes.NewForConfig(d.rest)
	if err != nil {
		return fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(d.rest)
	if err != nil {
		return fmt.Errorf("creating the Kubernetes dynamic client: %w", err)
	}
	events, stopEvents, err := scaler.NewEventRecorder(context.WithoutCancel(ctx), kube)
	if err != nil {
		return err
	}
	defer stopEvents()
	rec := ops.NewRecorder(ops.Options{Kind: errorKind})
	var leading atomic.Bool
	leading.Store(!f.leaderElect)
	rec.SetLeader(!f.leaderElect)
	var elector *leader.Elector
	may := leading.Load // may this process write now
	var lease func() time.Duration
	if f.leaderElect {
		if elector, err = newElector(f, d, kube, &leading, rec); err != nil {
			return err
		}
		// client-go's leading flag lags a lost lease by up to the renew deadline: a write also
		// needs the lease proven valid, checked again by the actuator right before it is sent.
		lease = elector.Remaining
		may = func() bool { return leading.Load() && elector.Remaining() > 0 }
	}
	act, err := scaler.NewActuator(scaler.ActuatorConfig{Client: dyn, Recorder: events, Lease: lease})
	if err != nil {
		return err
	}
	loop, err := newLoop(f, d, cluster{client: dyn, actuator: act, leading: may}, rec, may)
	if err != nil {
		return err
	}
	setPolicies(loop, rec, ps)
	if d.started != nil {
		d.started(loop, rec)
	}
	return runAll(ctx, f, d, loop, rec, elector)
}

// newLoop wires the planning loop to Prometheus, the cluster and the recorder.
func newLoop(f runFlags, d deps, c cluster, rec *ops.Recorder, leading func() bool) (*planner.Loop, error) {
	prom := metrics.New(metrics.Options{})
	observer := &watchedObserver{next: namingObserver{prom}, rec: rec, logger: d.logger}
	cfg := planner.LoopConfig{
		Clock: d.clock, Observer: observer, Replicas: c, Applier: c, Recorder: tickNotifier{rec, d.kedaChanges}, Logger: d.logger,
		DryRun: f.dryRun, Leading: leading, Spread: true, NewState: stateBuilder(d.logger), Scrape: prom,
	}
	if f.backfill {
		cfg.History = history{adapter: prom}
	}
	if d.newState != nil {
		cfg.NewState = d.newState
	}
	return planner.NewLoop(cfg)
}

// setPolicies hands a policy set to the loop and the recorder; it reports false (and changes
// nothing) once the loop has stopped.
func setPolicies(loop *planner.Loop, rec *ops.Recorder, ps []policies.Policy) bool {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	if err := loop.Update(ps); err != nil {
		return false
	}
	rec.SetPolicies(names)
	return true
}

// runAll runs the loop, the ops server, the policy watcher and the election until ctx ends. The
// election outlives the loop so that the lease is released only after the last tick's writes.
func runAll(ctx context.Context, f runFlags, d deps, loop *planner.Loop, rec *ops.Recorder, elector *leader.Elector) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var loopDone atomic.Bool
	wg.Go(func() {
		_ = loop.Run(ctx)
		loopDone.Store(true)
	})
	checks := probes(ctx, loop, rec, &loopDone, elector)
	wg.Go(func() {
		if err := serveOps(ctx, f.listen, d.listener, ops.Handler(rec, checks)); err != nil {
			cancel(err)
		}
	})
	if f.kedaListen != "" || d.kedaListener != nil {
		wg.Go(func() {
			if err := runKEDA(ctx, f, d, loop); err != nil {
				cancel(err)
			}
		})
	}
	if f.reloadEvery > 0 {
		w := &policyWatcher{path: f.policies, clock: d.clock, every: f.reloadEvery, logger: d.logger,
			apply: func(ps []policies.Policy) {
				if setPolicies(loop, rec, overridePrometheus(ps, f.prometheusURL)) {
					rec.Reloaded(true)
				}
			},
			rejected:   func(error) { rec.Reloaded(false) },
			unreadable: func(error) { rec.PolicySourceUnreadable() },
			healthy:    rec.SetPolicySourceOK}
		w.init()
		wg.Go(func() { w.run(ctx) })
	}
	electionCtx, stopElection := context.WithCancel(context.WithoutCancel(ctx))
	var ewg sync.WaitGroup
	if elector != nil {
		ewg.Go(func() { elector.Run(electionCtx) })
	}
	wg.Wait()
	stopElection()
	ewg.Wait()
	return context.Cause(ctx)
}

// newElector builds the Lease elector; leading and the tidal_leader metric follow it.
func newElector(f runFlags, d deps, kube kubernetes.Interface, leading *atomic.Bool, rec *ops.Recorder) (*leader.Elector, error) {
	logger := d.logger
	lease := leaseNamespace(f.leaseNamespace) + "/" + f.leaseName
	id := identity(f.identity)
	set := func(v bool) {
		leading.Store(v)
		rec.SetLeader(v)
	}
	return leader.New(leader.Config{
		Client: kube, Namespace: leaseNamespace(f.leaseNamespace), Name: f.leaseName, Identity: id,
		LeaseDuration: f.leaseDuration, RenewDeadline: f.renewDeadline, RetryPeriod: f.retryPeriod,
		ReleaseOnCancel: true, Clock: d.clock,
		OnStartedLeading: func(context.Context) {
			logger.Info("leading: this process now writes decisions", "lease", lease, "identity", id)
			set(true)
		},
		OnStoppedLeading: func() {
			logger.Info("following: this process computes but does not write", "lease", lease, "identity", id)
			set(false)
		},
		OnNewLeader: func(holder string) {
			if holder != id {
				logger.Info("another process leads", "lease", lease, "leader", holder)
			}
		},
	})
}

// probes are the health checks: live while the loop runs (until ctx ends) and, with election,
// while the lease is renewed in time; ready once every policy has ticked and while some
// policy's last tick succeeds (ops.Recorder.Ready).
func probes(ctx context.Context, loop *planner.Loop, rec *ops.Recorder, loopDone *atomic.Bool, elector *leader.Elector) ops.Checks {
	return ops.Checks{
		Live: func() error {
			if loopDone.Load() && ctx.Err() == nil {
				return errors.New("the planning loop stopped")
			}
			if elector != nil {
				return elector.Check(nil)
			}
			return nil
		},
		Ready: func() error { return rec.Ready(loop.Ticked()) },
	}
}

// serveOps serves the ops endpoints on the given listener, else on addr.
func serveOps(ctx context.Context, addr string, ln net.Listener, h http.Handler) error {
	if ln != nil {
		return ops.ServeListener(ctx, ln, h)
	}
	return ops.Serve(ctx, addr, h)
}

// stateBuilder returns the loop's NewState: it loads the policy's performance profile, if any
// (a profile that does not load is logged and the policy learns online instead).
func stateBuilder(logger *slog.Logger) func(policies.Policy) planner.State {
	return func(p policies.Policy) planner.State {
		opts := planner.Options{}
		if dir := p.PerformanceModel.Profile; dir != "" {
			m, err := loadProfile(dir)
			if err != nil {
				logger.Error("the performance profile does not load; sizing without it", "policy", p.Name, "err", err)
			} else {
				opts.Profile = &m
			}
		}
		return planner.NewState(p, opts)
	}
}

// loadProfile loads the first profiled configuration in a Dynamo profiler directory.
func loadProfile(dir string) (model.Profile, error) {
	ps, err := profile.Load(dir)
	if err != nil {
		return model.Profile{}, err
	}
	p, err := profile.Match(ps, 0)
	if err != nil {
		return model.Profile{}, fmt.Errorf("choosing a profile in %s: %w", dir, err)
	}
	return model.FromProfile(p), nil
}

// history adapts metrics.Adapter.Backfill to planner.HistoryReader: the request rate and token
// lengths over the policy's forecast history, and the TTFT and ITL attainment over its objective
// window, one point per planning interval, ending one interval before now.
type history struct{ adapter *metrics.Adapter }

// History implements planner.HistoryReader.
func (h history) History(ctx context.Context, p policies.Policy, now time.Time) (planner.LoadHistory, error) {
	step := p.Planning.Interval
	end := now.Add(-step)
	start := now.Add(-p.Planning.Forecast.History)
	if step <= 0 || !start.Before(end) {
		return planner.LoadHistory{}, nil
	}
	var out [3][]float64
	var errs []error
	for i, s := range []policies.Signal{policies.SignalRequestRate, policies.SignalInputTokens, policies.SignalOutputTokens} {
		series, err := h.adapter.Backfill(ctx, p, s, start, end, step)
		out[i] = series.Values
		if err != nil {
			errs = append(errs, err)
		}
	}
	lh := planner.LoadHistory{RequestRate: out[0], InputTokens: out[1], OutputTokens: out[2]}
	lh.TTFTAttained, lh.ITLAttained = h.attainment(ctx, p, start, end, step)
	return lh, errors.Join(errs...)
}

// attainment reads the TTFT and ITL attainment over the objective window (at most the forecast
// history) for the error budget's replay (planner.State.WarmBudget). It is best effort: a
// deployment without latency histograms, or a failed read, leaves the series NaN or empty, the
// replay then freezes the level where it starts, and the live ticks report the missing signals.
func (h history) attainment(ctx context.Context, p policies.Policy, start, end time.Time, step time.Duration) (ttft, itl []float64) {
	if from := end.Add(-p.SLO.ObjectiveWindow); from.After(start) {
		start = from
	}
	var out [2][]float64
	for i, s := range []policies.Signal{metrics.SignalTTFTAttained, metrics.SignalITLAttained} {
		if series, err := h.adapter.Backfill(ctx, p, s, start, end, step); err == nil {
			out[i] = series.Values
		}
	}
	return out[0], out[1]
}
