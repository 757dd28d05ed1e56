package planner

import (
	"context"

	"github.com/tidal-planner/tidal/policies"
)

// DefaultBackfills is how many policies backfill their history at once by default
// (LoopConfig.Backfills). A backfill holds the policy's whole history while it feeds it: three
// series of History/Interval points (14 days at 15 s are 80,640 float64s each, 1.9 MB together),
// and the metrics adapter's decoded query_range responses besides. Unbounded, 500 policies
// starting together held about 1 GB of them at once; four at a time hold a few MB and still fill
// the metrics adapter's default 16 query slots (one signal's backfill runs up to 8 chunk queries
// at once at 14 days and 15 s), so start-up takes no longer: Prometheus is the bottleneck either
// way, and the policies now become ready one after another instead of all at the end.
const DefaultBackfills = 4

// warm backfills the forecasters from the HistoryReader, if any, and replays the error budget
// over the attainment history (State.WarmBudget), once one of the loop's backfill slots is free
// (the tick deadline starts then). A failure is logged and recorded; the policy then starts cold.
// A worker stopped before it warms reads nothing. Every caller warms a State just built, so the
// replay never counts the history twice.
func (l *Loop) warm(ctx context.Context, p policies.Policy, st *State) {
	if l.cfg.History == nil || ctx.Err() != nil {
		return
	}
	select {
	case l.backfills <- struct{}{}:
		defer func() { <-l.backfills }()
	case <-ctx.Done():
		return
	}
	ctx, cancel := l.tickContext(ctx, p)
	defer cancel()
	h, err := l.cfg.History.History(ctx, p, l.cfg.Clock.Now())
	n := st.Warm(h)
	if m := st.WarmBudget(p, h); m > 0 {
		l.cfg.Logger.Info("replayed the error budget over the attainment history", "policy", p.Name,
			"intervals", m, "budget", st.BudgetSummary(p))
	}
	if err != nil {
		l.cfg.Logger.Warn("backfilling the forecast history failed; starting with what arrived",
			"policy", p.Name, "points", n, "err", err)
		if l.cfg.Recorder != nil {
			l.cfg.Recorder.Record(Tick{Policy: p, Time: l.cfg.Clock.Now(), Outcome: OutcomeFailed,
				Errors: []TickError{{Stage: StageHistory, Err: err}}})
		}
		return
	}
	if n == 0 {
		l.cfg.Logger.Info("Prometheus has no load history for this policy yet; its forecasts start cold", "policy", p.Name)
		return
	}
	l.cfg.Logger.Info("backfilled the forecast history", "policy", p.Name, "points", n)
}
