package planner

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

// tick runs one observe -> plan -> apply cycle of a policy, records and logs it, and returns it.
// prev is the previous tick's decision (nil for the first).
func (l *Loop) tick(ctx context.Context, p policies.Policy, st *State, prev *Decision) Tick {
	start := l.cfg.Clock.Now()
	ctx, cancel := l.tickContext(ctx, p)
	defer cancel()
	t := Tick{Policy: p, Time: start}
	t.Observations = l.observe(ctx, p, start, &t)
	if l.cfg.Leading != nil && !l.cfg.Leading() {
		st.Follow() // another process may write: only this process's own writes are remembered
	}
	d, ok := l.plan(start, t.Observations, p, st, &t)
	if ok {
		t.Decision = d
		t.Changed = changed(prev, d)
		t.Outcome = l.apply(ctx, p, d, st, &t)
	} else {
		t.Outcome = OutcomeFailed
	}
	t.Duration = l.cfg.Clock.Since(start)
	if l.store(t) && l.cfg.Recorder != nil {
		l.cfg.Recorder.Record(t)
	}
	l.log(t)
	return t
}

// observe reads the metrics and the replica counts concurrently and merges them.
func (l *Loop) observe(ctx context.Context, p policies.Policy, now time.Time, t *Tick) Observations {
	var (
		obs      Observations
		reps     []ServiceObservation
		oErr     error
		rErr     error
		observed sync.WaitGroup
	)
	observed.Go(func() { obs, oErr = l.cfg.Observer.Observe(ctx, p, now) })
	reps, rErr = l.cfg.Replicas.Replicas(ctx, p)
	observed.Wait()
	if oErr != nil {
		t.Errors = append(t.Errors, TickError{Stage: StageObserve, Err: oErr})
		obs = unobserved(now, p, oErr.Error())
	}
	if rErr != nil {
		t.Errors = append(t.Errors, TickError{Stage: StageReplicas, Err: rErr})
	}
	obs.Time = now
	return mergeReplicas(obs, p, reps)
}

// unobserved is the observations of a tick whose observer failed outright: every signal missing.
func unobserved(now time.Time, p policies.Policy, why string) Observations {
	u := Unknown("observer failed: " + why)
	o := Observations{Time: now, Window: p.Metrics.Window, RequestRate: u, InputTokens: u,
		OutputTokens: u, TTFT: u, TTFTPercentile: u, ITL: u, ITLPercentile: u, QueueDepth: u,
		Inflight: u, KVUsage: u, ArrivalCV: u, InputTokensPercentile: u, OutputTokensPercentile: u}
	for i := range p.NumServices() {
		o.Services = append(o.Services, ServiceObservation{Name: p.ServiceAt(i).Name, KVUsage: u, ActiveTokens: u})
	}
	return o
}

// mergeReplicas copies the cluster's replica fields into the observations' services (adding
// services the observer did not list). Services the reader did not return stay unknown.
func mergeReplicas(obs Observations, p policies.Policy, reps []ServiceObservation) Observations {
	out := make([]ServiceObservation, 0, p.NumServices())
	for i := range p.NumServices() {
		name := p.ServiceAt(i).Name
		so, ok := obs.Service(name)
		if !ok {
			so = ServiceObservation{Name: name}
		}
		so.Desired, so.Ready, so.ReplicasKnown, so.GPUsPerReplica = 0, 0, false, 0
		for _, r := range reps {
			if r.Name == name {
				so.Desired, so.Ready, so.ReplicasKnown, so.GPUsPerReplica = r.Desired, r.Ready, r.ReplicasKnown, r.GPUsPerReplica
			}
		}
		out = append(out, so)
	}
	obs.Services = out
	return obs
}

// plan calls Plan, turning a panic into a tick error so one policy's bug cannot stop the loop.
// On a panic the state is rebuilt, since Plan may have left it half-updated.
func (l *Loop) plan(now time.Time, obs Observations, p policies.Policy, st *State, t *Tick) (d Decision, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			t.Errors = append(t.Errors, TickError{Stage: StagePlan, Err: errPanic{v}})
			*st = l.cfg.NewState(p)
			ok = false
		}
	}()
	d = Plan(now, obs, p, st)
	return d, true
}

// apply hands the decision to the applier when this process leads and the decision has a service
// to write (ServiceDecision.Write) or another writer to report; in dry-run (the policy's mode or
// the process's flag) the applier is told to persist nothing. A real write is first recorded in
// the planner state, so the next tick can tell it from another writer's; a follower forgets its
// writes.
func (l *Loop) apply(ctx context.Context, p policies.Policy, d Decision, st *State, t *Tick) Outcome {
	dryRun := l.cfg.DryRun || p.Mode == policies.ModeDryRun
	switch {
	case !needsApply(d):
		return OutcomeNoChange
	case l.cfg.Leading != nil && !l.cfg.Leading():
		return OutcomeFollower
	}
	if !dryRun {
		for _, s := range d.Services {
			if s.Write {
				st.Wrote(s.Name, s.Desired)
			}
		}
	}
	if err := l.cfg.Applier.Apply(ctx, p, d, dryRun); err != nil {
		t.Errors = append(t.Errors, TickError{Stage: StageApply, Err: err})
	}
	if dryRun {
		return OutcomeDryRun
	}
	if !needsWrite(d) {
		return OutcomeNoChange
	}
	return OutcomeApplied
}

// needsWrite reports whether some service of the decision is to be written.
func needsWrite(d Decision) bool {
	for _, s := range d.Services {
		if s.Write {
			return true
		}
	}
	return false
}

// needsApply reports whether the applier has something to do: a write, or another writer seen
// this tick (the applier reports it).
func needsApply(d Decision) bool {
	return needsWrite(d) || len(ConflictingWriters(d)) > 0
}

// ConflictingWriters returns the services of d where this tick saw a replica count that no write
// of this process explains (their conflicting-writer reason, Before = tidal's last write, After =
// the count read). The applier raises an Event for each.
func ConflictingWriters(d Decision) []ServiceDecision {
	var out []ServiceDecision
	for _, s := range d.Services {
		if conflictReason(s).Code == CodeConflictingWriter {
			out = append(out, s)
		}
	}
	return out
}

// conflictReason returns the service's conflicting-writer reason (the zero Reason if none).
func conflictReason(s ServiceDecision) Reason {
	for _, r := range s.Reasons {
		if r.Code == CodeConflictingWriter {
			return r
		}
	}
	return Reason{}
}

// changed reports whether some service's desired count differs from prev's.
func changed(prev *Decision, d Decision) bool {
	if prev == nil || len(prev.Services) != len(d.Services) {
		return true
	}
	for i, s := range d.Services {
		if prev.Services[i].Name != s.Name || prev.Services[i].Desired != s.Desired {
			return true
		}
	}
	return false
}

// log writes one Info line when the decision changed (or a tick failed), else a Debug line.
func (l *Loop) log(t Tick) {
	level := slog.LevelDebug
	if t.Changed || t.Outcome == OutcomeFailed {
		level = slog.LevelInfo
	}
	ctx := context.Background()
	if !l.cfg.Logger.Enabled(ctx, level) && len(t.Errors) == 0 {
		return
	}
	attrs := []slog.Attr{
		slog.String("policy", t.Policy.Name), slog.String("outcome", string(t.Outcome)),
		slog.Duration("took", t.Duration),
	}
	for _, s := range t.Decision.Services {
		attrs = append(attrs, slog.Group(s.Name, "current", s.Current, "ready", s.Ready,
			"desired", s.Desired, "held", s.Held, "reasons", reasonList(s.Reasons)))
	}
	msg := "decision"
	switch {
	case t.Changed && t.Outcome == OutcomeNoChange:
		msg = "decision: the cluster already runs the decided replicas" // e.g. the first tick
	case t.Changed:
		msg = "decision changed"
	}
	l.cfg.Logger.LogAttrs(ctx, level, msg, attrs...)
	for _, s := range ConflictingWriters(t.Decision) {
		r := conflictReason(s)
		l.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "another writer changed the replicas; not writing this service until it is quiet",
			slog.String("policy", t.Policy.Name), slog.String("service", s.Name), slog.Int("tidalWrote", int(r.Before)),
			slog.Int("found", int(r.After)), slog.Duration("quietFor", time.Duration(r.Limit*float64(time.Second))))
	}
	for _, e := range t.Errors {
		l.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "tick error", slog.String("policy", t.Policy.Name),
			slog.String("stage", string(e.Stage)), slog.String("err", e.Err.Error()))
	}
}

// reasonList renders reasons as one "; "-separated string. Missing signals that share a reason
// (Prometheus unreachable fails every signal alike) fold into one entry naming them all, so a
// failing tick's log line stays one short line instead of repeating the error per signal.
func reasonList(rs []Reason) string {
	var parts []string
	folded := map[string]int{} // missing reason -> index in parts
	var signals [][]string     // per part, the signals folded into it
	for _, r := range rs {
		signal, why, ok := strings.Cut(r.Note, ": ")
		if r.Code != CodeMissing || !ok {
			parts, signals = append(parts, r.Detail()), append(signals, nil)
			continue
		}
		if i, seen := folded[why]; seen {
			signals[i] = append(signals[i], signal)
			continue
		}
		folded[why] = len(parts)
		parts, signals = append(parts, why), append(signals, []string{signal})
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteString("; ")
		}
		if signals[i] == nil {
			b.WriteString(p)
			continue
		}
		fmt.Fprintf(&b, "%s/%s: %s: %s", StepObserve, CodeMissing, strings.Join(signals[i], ", "), p)
	}
	return b.String()
}
