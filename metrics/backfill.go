package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/tidal-planner/tidal/policies"
)

// MaxPointsPerQuery is the most points one query_range may return per series: Prometheus
// rejects more than 11,000 ("exceeded maximum resolution of 11,000 points per timeseries").
const MaxPointsPerQuery = 11000

// maxBackfillPoints caps one Backfill (about 19 days at a 1 s step) so a bad argument cannot
// allocate without bound.
const maxBackfillPoints = 1 << 24

// Series is an evenly spaced series: Values[i] is the value at Start + i*Step, NaN when missing
// (no sample, NaN, an infinity, or a stale gauge at that step).
type Series struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// Backfill reads a signal's history for a policy from start to end (inclusive) every step, with
// query_range in chunks of at most MaxPointsPerQuery points that run concurrently under the
// Adapter's bound, each with the policy's Prometheus timeout. The series always has every step;
// a chunk that fails is left NaN and its error is joined into the returned error, so the caller
// can start warm from what did arrive. Per-worker signals read the decode (or unlabelled) group,
// as Observations.KVUsage does; the attainment signals are interpolated at the SLO target at
// every step, as Observe does (attainment.go), without Observe's window-coverage check (as for
// every backfilled rate). An invalid argument or query is an error with no series.
func (a *Adapter) Backfill(ctx context.Context, p policies.Policy, s policies.Signal, start, end time.Time, step time.Duration) (Series, error) {
	return a.backfill(ctx, targetOf(p), s, start, end, step)
}

// backfill is Backfill over the adapter's view of a policy.
func (a *Adapter) backfill(ctx context.Context, t target, s policies.Signal, start, end time.Time, step time.Duration) (Series, error) {
	if step <= 0 || end.Before(start) {
		return Series{}, fmt.Errorf("backfilling %s: need step > 0 and start <= end, got step %s, %s..%s", s, step, start, end)
	}
	n := int64(end.Sub(start)/step) + 1
	if n > maxBackfillPoints {
		return Series{}, fmt.Errorf("backfilling %s: %d points exceed the limit of %d; use a longer step", s, n, maxBackfillPoints)
	}
	if _, skip := notApplicable(t, s); skip {
		return Series{}, fmt.Errorf("backfilling %s: the SLO sets no percentile", s)
	}
	q, err := a.query(t, s)
	if err != nil {
		return Series{}, fmt.Errorf("backfilling: %w", err)
	}
	client, err := a.api(t.metrics.PrometheusURL)
	if err != nil {
		return Series{}, err
	}
	out := Series{Start: start, Step: step, Values: make([]float64, n)}
	for i := range out.Values {
		out.Values[i] = math.NaN()
	}
	timeout := a.timeout(t.metrics)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for first := int64(0); first < n; first += MaxPointsPerQuery {
		last := min(first+MaxPointsPerQuery, n) - 1
		wg.Go(func() {
			r := v1.Range{Start: start.Add(time.Duration(first) * step), End: start.Add(time.Duration(last) * step), Step: step}
			if err := a.chunk(ctx, client, q, r, t, s, timeout, out); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("backfilling %s %s..%s: %w", s, r.Start.Format(time.RFC3339), r.End.Format(time.RFC3339), err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// chunk runs one query_range of signal s and writes its points into out (disjoint indices per
// chunk).
func (a *Adapter) chunk(ctx context.Context, c v1.API, q string, r v1.Range, t target, s policies.Signal, timeout time.Duration, out Series) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := a.acquire(ctx); err != nil {
		return err
	}
	defer a.release()
	val, warnings, _, err := c.QueryRange(ctx, q, r, evalOptions(timeout)...)
	if err != nil {
		return errors.New(errReason(err, timeout))
	}
	if len(warnings) > 0 {
		return fmt.Errorf("%s: %s", ReasonWarnings, clip(strings.Join(warnings, "; ")))
	}
	m, ok := val.(model.Matrix)
	if !ok {
		return fmt.Errorf("%s: %s (want a matrix)", ReasonUnexpected, val.Type())
	}
	if attainmentSignal(s) {
		return fillAttained(out, m, t.sloTarget(s))
	}
	values, ages, err := pickSeries(m, grouped(s))
	if err != nil {
		return err
	}
	a.fill(out, values, ages)
	return nil
}

// pickSeries chooses the value and (optional) age series of a range result: the only series,
// or for per-worker signals the decode group, else the unlabelled one.
func pickSeries(m model.Matrix, byWorker bool) (values, ages *model.SampleStream, err error) {
	found := map[string][2]*model.SampleStream{}
	for _, ss := range m {
		key := ""
		if byWorker {
			key = string(ss.Metric[LabelWorkerType])
		}
		pair := found[key]
		i := 0
		if ss.Metric[LabelPart] == "age" {
			i = 1
		}
		if pair[i] != nil {
			return nil, nil, fmt.Errorf("%s: several series for worker_type %q; aggregate them in the query", ReasonAmbiguous, key)
		}
		pair[i] = ss
		found[key] = pair
	}
	for _, k := range []string{"decode", ""} {
		if pair, ok := found[k]; ok {
			return pair[0], pair[1], nil
		}
	}
	return nil, nil, nil // nothing in range: the points stay NaN
}

// fill writes finite values into out, leaving NaN where the gauge's age exceeds StaleAfter.
func (a *Adapter) fill(out Series, values, ages *model.SampleStream) {
	if values == nil {
		return
	}
	stale := map[model.Time]bool{}
	if ages != nil {
		for _, p := range ages.Values {
			stale[p.Timestamp] = float64(p.Value) > a.opts.StaleAfter.Seconds()
		}
	}
	for _, p := range values.Values {
		v := float64(p.Value)
		if math.IsNaN(v) || math.IsInf(v, 0) || stale[p.Timestamp] {
			continue
		}
		i := int64(math.Round(float64(p.Timestamp.Time().Sub(out.Start)) / float64(out.Step)))
		if i >= 0 && i < int64(len(out.Values)) {
			out.Values[i] = v
		}
	}
}
