package main

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// watchedObserver is the loop's Observer: the Prometheus adapter, plus the signals its failures
// owe the operator. The adapter turns a Prometheus outage, hang or error answer into missing
// values (the planner holds), not an error; this wrapper counts every such tick in
// tidal_errors_total{stage="observe",kind} and logs when a policy's failures start, change and
// end, once each rather than every tick. It is safe for concurrent use.
type watchedObserver struct {
	next   planner.Observer
	rec    *ops.Recorder
	logger *slog.Logger

	mu   sync.Mutex
	last map[string]string // policy -> its failure kinds at the last tick, joined
}

// Observe implements planner.Observer.
func (w *watchedObserver) Observe(ctx context.Context, p policies.Policy, now time.Time) (planner.Observations, error) {
	o, err := w.next.Observe(ctx, p, now)
	if err != nil {
		return o, err
	}
	kinds := metrics.FailureKinds(o)
	for _, k := range kinds {
		w.rec.ObserveFailed(p.Name, k)
	}
	w.transition(p.Name, kinds, firstFailure(o))
	return o, nil
}

// transition logs a change of a policy's failure kinds.
func (w *watchedObserver) transition(policy string, kinds []string, example string) {
	joined := strings.Join(kinds, ",")
	w.mu.Lock()
	if w.last == nil {
		w.last = map[string]string{}
	}
	prev := w.last[policy]
	w.last[policy] = joined
	w.mu.Unlock()
	switch {
	case joined == prev:
	case joined == "":
		w.logger.Info("Prometheus answers again", "policy", policy, "was", prev)
	default:
		w.logger.Warn("Prometheus reads failed; holding the replica counts until they succeed",
			"policy", policy, "kinds", joined, "example", example)
	}
}

// firstFailure returns the request rate's missing reason, the signal every plan needs.
func firstFailure(o planner.Observations) string {
	return policies.Clip(o.RequestRate.Missing)
}
