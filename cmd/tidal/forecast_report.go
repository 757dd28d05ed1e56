package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/planner/workload"
)

// methodRun is one method's replay of the series.
type methodRun struct {
	method string
	status forecast.Status
	fc     []forecast.Point
	scores forecast.Scores
}

// replayReport is every method's replay plus what scoring skipped.
type replayReport struct {
	runs   []methodRun   // baselines first, the asked-for method(s) after
	skip   []bool        // not scored: gap, missing, or warmup
	mask   []bool        // missing or inside a collection gap
	gap    time.Duration // shortest zero run counted as a gap
	gaps   int           // points inside collection gaps or missing
	warmup int           // points skipped at the start
}

// replayAll replays the baselines and the chosen method(s) over s.
func replayAll(f forecastFlags, s workload.Series) (replayReport, error) {
	if len(s.Values) == 0 || s.Step <= 0 {
		return replayReport{}, fmt.Errorf("the series is empty")
	}
	gap := gapLength(f, s)
	opts := forecast.Options{
		Period:   int(f.period / s.Step),
		GapSteps: int(math.Ceil(float64(gap) / float64(s.Step))),
	}
	if gap == 0 {
		opts.GapSteps = -1
	}
	opts.MaxHorizon = max(12, f.horizon)
	mask := forecast.GapMask(s.Values, max(opts.GapSteps, 0))
	rep := replayReport{skip: make([]bool, len(s.Values)), mask: mask, gap: gap}
	rep.warmup = warmupSteps(f, s, opts.Period)
	for t, m := range mask {
		rep.skip[t] = m || t < rep.warmup
		if m {
			rep.gaps++
		}
	}
	scale := forecast.NaiveScale(s.Values, mask)
	for _, name := range methodsToRun(f.method) {
		fc, err := forecast.New(name, opts)
		if err != nil {
			return rep, err
		}
		run := methodRun{method: name, fc: forecast.Replay(fc, s.Values, f.horizon, 2*f.coverage-1)}
		run.scores = forecast.Score(s.Values, run.fc, rep.skip, scale, f.coverage)
		if d, ok := fc.(forecast.Describer); ok {
			run.status = d.Status()
		}
		rep.runs = append(rep.runs, run)
	}
	return rep, nil
}

// gapLength is the --gap in force: its default is one step for servegen (the sum over tens of
// clients is exactly 0 only when collection failed, per the traces README) and 1h otherwise.
func gapLength(f forecastFlags, s workload.Series) time.Duration {
	switch {
	case f.gap.set:
		return f.gap.d
	case f.format == "servegen":
		return s.Step
	}
	return time.Hour
}

// warmupSteps is the number of leading points not scored.
func warmupSteps(f forecastFlags, s workload.Series, period int) int {
	if f.warmup.set {
		return int(f.warmup.d / s.Step)
	}
	if period > 0 && len(s.Values) >= 3*period {
		return period
	}
	return 0
}

// methodsToRun lists the baselines and then the asked-for method(s), without repeats.
func methodsToRun(method string) []string {
	names := []string{forecast.MethodLast, forecast.MethodSeasonalNaive, forecast.MethodLastRatio}
	if method == "all" {
		for _, m := range forecast.Methods() {
			if !contains(names, m) {
				names = append(names, m)
			}
		}
		return names
	}
	if contains(names, method) {
		// keep the chosen method last so --out writes it
		out := []string{}
		for _, n := range names {
			if n != method {
				out = append(out, n)
			}
		}
		return append(out, method)
	}
	return append(names, method)
}

// printReport writes the table.
func printReport(w io.Writer, f forecastFlags, path string, s workload.Series, rep replayReport) {
	fmt.Fprintf(w, "series %s (%s): %d points of %v, horizon %d (%v ahead), upper bound = q%.2f\n",
		path, f.format, len(s.Values), s.Step, f.horizon, time.Duration(f.horizon)*s.Step, f.coverage)
	fmt.Fprintf(w, "not scored: %d points missing or in collection gaps (zero runs >= %v), %d warm-up points\n\n",
		rep.gaps, rep.gap, rep.warmup)
	var ratio forecast.Scores
	for _, r := range rep.runs {
		if r.method == forecast.MethodLastRatio {
			ratio = r.scores
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "method\tn\tsMAPE %%\tMASE\t<=upper %%\tin [lo,up] %%\tpinball q%.2f\tvs last-ratio %%\t\n", f.coverage)
	for _, r := range rep.runs {
		sc := r.scores
		rel := 100 * (sc.Pinball/ratio.Pinball - 1)
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.3f\t%.1f\t%.1f\t%.4g\t%+.1f\t\n", r.method, sc.N, sc.SMAPE, sc.MASE,
			100*sc.UnderUpper, 100*sc.Inside, sc.Pinball, rel)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range rep.runs {
		fmt.Fprintf(w, "%s: using %s: %s (refits %d, missing %d of %d)\n", r.method, r.status.Active,
			r.status.Reason, r.status.Refits, r.status.Missing, r.status.Observed)
	}
}

// writeOut writes one row per target time of run: timestamp (s from the series start), actual
// (empty when missing or in a gap), predicted, lower, upper.
func writeOut(path string, s workload.Series, run methodRun, mask []bool) error {
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing forecasts: %w", err)
	}
	cw := csv.NewWriter(file)
	cw.Write([]string{"timestamp", "actual", "predicted", "lower", "upper"})
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for t, p := range run.fc {
		if math.IsNaN(p.Value) {
			continue
		}
		actual := ""
		if !mask[t] {
			actual = num(s.Values[t])
		}
		cw.Write([]string{num((s.Time(t) - s.Start).Seconds()), actual, num(p.Value), num(p.Lower), num(p.Upper)})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		file.Close()
		return fmt.Errorf("writing forecasts to %s: %w", path, err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("writing forecasts to %s: %w", path, err)
	}
	return nil
}
