package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/planner/workload"
)

const forecastUsage = `Usage: tidal forecast [flags] PATH

Replays a load series with a rolling origin: after each point every method observes it and
forecasts --horizon steps ahead; the forecast is scored against the point that later arrives.
Prints, per method, sMAPE, MASE, the share of actuals at or under the upper bound, the share
inside [lower, upper], and the pinball loss of the upper bound at q = --coverage, beside the
baselines last, seasonal-naive and last-ratio (last value x the trailing week's --coverage
quantile of actual/last-value ratios).

--coverage is the quantile the upper bound stands for (what the planner provisions for), so the
printed [lower, upper] is the central 2*coverage-1 interval (80% at the default 0.9).

Runs of exact zeros lasting at least --gap are collection gaps: they are missing data to the
forecasters and are not scored. Rows of --out whose actual is missing have an empty actual.

Formats (--format, inferred from PATH when not given):
  csv        header timestamp,value (seconds); a missing value may be left empty
  azure      Azure LLM inference trace CSV (TIMESTAMP,ContextTokens,GeneratedTokens)
  mooncake   Mooncake JSONL trace (timestamp in ms, input_length, output_length)
  servegen   a directory of ServeGen chunk-*-trace.csv; the series is the sum of rate over clients
Request traces (azure, mooncake) become arrivals per second per --interval; csv and servegen
series are averaged up to --interval when it is a multiple of their own step.

Examples:
  tidal forecast --format servegen --horizon 6 ../shared/traces/servegen/data/language/m-small
  tidal forecast --format servegen --horizon 3 --method holt-winters --out hw.csv \
      ../shared/traces/servegen/data/language/m-large
  tidal forecast --format azure --interval 1m --horizon 1 \
      ../shared/traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv

Flags:
`

// forecastFlags are the parsed flags of tidal forecast.
type forecastFlags struct {
	format, method, out string
	interval, period    time.Duration
	gap, warmup         autoDuration
	horizon             int
	coverage            float64
}

func parseForecastFlags(args []string, stderr io.Writer) (forecastFlags, string, error) {
	var f forecastFlags
	fs := flag.NewFlagSet("forecast", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, forecastUsage); fs.PrintDefaults() }
	fs.StringVar(&f.format, "format", "", "input format: csv, azure, mooncake or servegen (default: from PATH: a directory is servegen, *.jsonl mooncake, a *.csv with Azure's header azure, else csv)")
	fs.DurationVar(&f.interval, "interval", 0, "step of the replayed series (default: the series' own step; 1m for request traces)")
	fs.IntVar(&f.horizon, "horizon", 1, "steps ahead each scored forecast is made")
	fs.StringVar(&f.method, "method", "all", "a method ("+strings.Join(forecast.Methods(), ", ")+") or all")
	fs.Float64Var(&f.coverage, "coverage", 0.9, "quantile of the upper bound, in (0.5, 1)")
	fs.StringVar(&f.out, "out", "", "write timestamp,actual,predicted,lower,upper for the chosen --method to this CSV")
	fs.Var(&f.gap, "gap", "runs of exact zeros lasting at least this `duration` are collection gaps, 0 disables (auto: one step for servegen, whose aggregate is never truly 0; 1h otherwise)")
	fs.DurationVar(&f.period, "period", 24*time.Hour, "season length")
	fs.Var(&f.warmup, "warmup", "do not score targets earlier than this `duration` into the series (auto: one period when the series spans three, else 0)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return f, "", err
	}
	if len(pos) != 1 {
		return f, "", errors.New("want exactly one PATH (a file, or a directory for servegen)")
	}
	if f.format == "" {
		f.format = inferSeriesFormat(pos[0])
	}
	return f, pos[0], f.check()
}

func (f forecastFlags) check() error {
	var errs []error
	if f.horizon < 1 || f.horizon > 10000 {
		errs = append(errs, fmt.Errorf("--horizon %d: want 1..10000", f.horizon))
	}
	if !(f.coverage > 0.5 && f.coverage < 1) {
		errs = append(errs, fmt.Errorf("--coverage %v: want a value in (0.5, 1)", f.coverage))
	}
	if f.method != "all" && !contains(forecast.Methods(), f.method) {
		errs = append(errs, fmt.Errorf("--method %q: want all or one of %s", f.method, strings.Join(forecast.Methods(), ", ")))
	}
	if f.out != "" && f.method == "all" {
		errs = append(errs, errors.New("--out needs a single --method"))
	}
	if f.interval < 0 {
		errs = append(errs, fmt.Errorf("--interval %v: must not be negative", f.interval))
	}
	if f.period <= 0 {
		errs = append(errs, fmt.Errorf("--period %v: must be positive", f.period))
	}
	return errors.Join(errs...)
}

// checkHorizon rejects a horizon that leaves no point of the series to score, or that reaches
// beyond one --period: a forecast more than a season ahead scores nothing the planner uses (its
// lead time is minutes).
func checkHorizon(f forecastFlags, step time.Duration, points int) error {
	if f.horizon >= points {
		return fmt.Errorf("--horizon %d: the series has %d points, so no forecast that far ahead can be scored; want at most %d",
			f.horizon, points, max(points-1, 0))
	}
	if step <= 0 {
		return nil
	}
	if most := int(f.period / step); f.horizon > most {
		return fmt.Errorf("--horizon %d: %d steps of %v reach %v ahead, beyond one --period (%v); want at most %d",
			f.horizon, f.horizon, step, time.Duration(f.horizon)*step, f.period, most)
	}
	return nil
}

// inferSeriesFormat guesses --format from PATH: a directory is servegen, *.jsonl mooncake, a
// *.csv whose header is Azure's (TIMESTAMP,ContextTokens,...) azure, anything else csv.
func inferSeriesFormat(path string) string {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return "servegen"
	}
	if strings.HasSuffix(strings.ToLower(path), ".jsonl") {
		return "mooncake"
	}
	file, err := os.Open(path)
	if err != nil {
		return "csv"
	}
	defer file.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(file, head)
	first, _, _ := strings.Cut(string(head[:n]), "\n")
	if strings.Contains(strings.ToLower(first), "contexttokens") {
		return "azure"
	}
	return "csv"
}

// autoDuration is a non-negative duration flag whose unset value means "tidal chooses".
type autoDuration struct {
	d   time.Duration
	set bool
}

// String returns "auto" while unset.
func (a *autoDuration) String() string {
	if a == nil || !a.set {
		return "auto"
	}
	return a.d.String()
}

// Set parses a duration such as 10m.
func (a *autoDuration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("%v is negative", d)
	}
	a.d, a.set = d, true
	return nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func runForecast(_ context.Context, args []string, stdout, stderr io.Writer) int {
	f, path, err := parseForecastFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "tidal forecast: %v\n", err)
		return 2
	}
	series, err := loadSeries(f, path)
	if err != nil {
		fmt.Fprintf(stderr, "tidal forecast: %v\n", err)
		return 1
	}
	if err := checkHorizon(f, series.Step, len(series.Values)); err != nil {
		fmt.Fprintf(stderr, "tidal forecast: %v\n", err)
		return 2
	}
	rep, err := replayAll(f, series)
	if err != nil {
		fmt.Fprintf(stderr, "tidal forecast: %v\n", err)
		return 1
	}
	printReport(stdout, f, path, series, rep)
	if f.out != "" {
		if err := writeOut(f.out, series, rep.runs[len(rep.runs)-1], rep.mask); err != nil {
			fmt.Fprintf(stderr, "tidal forecast: %v\n", err)
			return 1
		}
	}
	return 0
}

// loadSeries reads path in f.format and brings it to f.interval.
func loadSeries(f forecastFlags, path string) (workload.Series, error) {
	var s workload.Series
	var err error
	switch f.format {
	case "servegen":
		var sg *workload.ServeGen
		if sg, err = workload.ReadServeGen(os.DirFS(path), "."); err == nil {
			s = sg.Aggregate()
		}
	case "csv", "azure", "mooncake":
		s, err = readFileSeries(f, path)
	default:
		return s, fmt.Errorf("--format %q: want csv, azure, mooncake or servegen", f.format)
	}
	if err != nil {
		return s, err
	}
	return resample(s, f.interval)
}

// readFileSeries reads a single-file format.
func readFileSeries(f forecastFlags, path string) (workload.Series, error) {
	file, err := os.Open(path)
	if err != nil {
		return workload.Series{}, fmt.Errorf("reading series: %w", err)
	}
	defer file.Close()
	name := filepath.Base(path)
	if f.format == "csv" {
		return workload.ReadSeries(file, name)
	}
	var reqs []workload.Request
	if f.format == "azure" {
		reqs, err = workload.ReadAzure(file, name)
	} else {
		reqs, err = workload.ReadMooncake(file, name)
	}
	if err != nil {
		return workload.Series{}, err
	}
	interval := f.interval
	if interval == 0 {
		interval = time.Minute
	}
	return workload.Rate(reqs, interval)
}

// resample averages s up to interval (a multiple of s.Step); 0 keeps s as it is.
func resample(s workload.Series, interval time.Duration) (workload.Series, error) {
	if interval == 0 || interval == s.Step || len(s.Values) == 0 {
		return s, nil
	}
	if s.Step <= 0 || interval%s.Step != 0 {
		return s, fmt.Errorf("--interval %v is not a multiple of the series step %v", interval, s.Step)
	}
	k := int(interval / s.Step)
	out := workload.Series{Start: s.Start, Step: interval}
	for i := 0; i < len(s.Values); i += k {
		sum, n := 0.0, 0
		for _, v := range s.Values[i:min(i+k, len(s.Values))] {
			if !math.IsNaN(v) {
				sum, n = sum+v, n+1
			}
		}
		mean := math.NaN()
		if n > 0 {
			mean = sum / float64(n)
		}
		out.Values = append(out.Values, mean)
	}
	return out, nil
}
