package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/sim/compete"
	"github.com/tidal-planner/tidal/planner/sim/report"
	"github.com/tidal-planner/tidal/planner/sim/scenario"
	"github.com/tidal-planner/tidal/planner/sim/synth"
	"github.com/tidal-planner/tidal/planner/workload"
	"github.com/tidal-planner/tidal/policies"
)

const simulateUsage = `Usage:
  tidal simulate [flags]

Replay a workload against a simulated Dynamo deployment (engines from a Dynamo profile, replicas
that take their startup time to serve) scaled by tidal's planner and by the planners it is
compared with, in the same world with the same seed, and print SLO attainment, GPU-hours and
latency percentiles for each. With no flags it runs the built-in scenario: one synthetic day (a
diurnal cycle with bursts) on disaggregated Llama-3.1-8B-Instruct-FP8 on H200, with the embedded
Dynamo profile and policy.

Planners: tidal (always); hindsight (knows every arrival: the cheapest allocation per window
that reaches tidal's attainment, the price of not knowing the future); static (smallest fixed
allocation meeting --static-goal, by default the policy's objective, searched); hpa (the
Kubernetes HPA on input tokens/s and KV usage per replica, targets tuned in hindsight for the same
goal; alias reactive); dynamo (Dynamo's SLA planner: interpolation, correction factors,
ARIMA-style predictor, 180 s); dynamo-fpm (Dynamo's forward-pass regression planner, learned
online); oracle (the old look-ahead heuristic, only when named). A request meets the SLO when its
TTFT and its mean ITL meet the policy's targets.

Flags:
`

const simulateExamples = `
Examples:
  # the built-in scenario
  tidal simulate

  # the Azure code trace with the default policy and profile, results also as JSON and HTML
  tidal simulate --workload ../shared/traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv \
      --format azure --json azure.json --report azure-report

  # one ServeGen day at 1/10 of the rate, token lengths from the Azure trace
  tidal simulate --workload ../shared/traces/servegen/data/language/m-large --format servegen \
      --tokens-from ../shared/traces/azure_llm_2023/AzureLLMInferenceTrace_code.csv \
      --rate-scale 0.1 --duration 24h

  # a synthetic step, your policy and profile, only against Dynamo's planner
  tidal simulate --format synthetic --shape step --rate 20 --duration 2h \
      --policy my-policy.yaml --profile ./profiles/h200 --compare dynamo
`

// simulateFlags are the parsed flags of "tidal simulate".
type simulateFlags struct {
	workload, format, tokensFrom, shape string
	policy, profile                     string
	compare, jsonOut, reportDir         string
	decisions, markdown                 string
	seeds                               int
	rate, rateScale, staticGoal         float64
	start, duration, scrape, history    time.Duration
	seed                                uint64
	maxContext                          int
	dropOverContext, quiet              bool
	world                               worldFlags
	restart                             restartFlags
	bursts                              burstFlags
}

func (f *simulateFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.workload, "workload", "", "trace `FILE` (azure CSV, mooncake JSONL) or ServeGen model DIR")
	fs.StringVar(&f.format, "format", "", "azure|mooncake|servegen|synthetic (default: from --workload's extension, synthetic without one)")
	fs.StringVar(&f.tokensFrom, "tokens-from", "", "per-request trace `FILE` to draw token lengths from (servegen, synthetic)")
	fs.StringVar(&f.shape, "shape", "diurnal", "synthetic shape: diurnal|step|spike|ramp")
	fs.Float64Var(&f.rate, "rate", 0, "synthetic base (diurnal: mean) rate, requests/s (default: the built-in scenario's 15)")
	fs.Float64Var(&f.rateScale, "rate-scale", 1, "multiply the load without compressing time: a trace superposes shifted copies of itself (integer part) and thins (fraction, and factors below 1); ServeGen and synthetic rates are multiplied")
	fs.DurationVar(&f.start, "start", 0, "servegen: offset of the first window replayed")
	fs.DurationVar(&f.duration, "duration", 0, "span replayed: synthetic (default 24h) and servegen (default 24h)")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed (synthetic and ServeGen arrivals, token sampling)")
	fs.StringVar(&f.policy, "policy", "", "policy `FILE` (default: the embedded policy)")
	fs.StringVar(&f.profile, "profile", "", "Dynamo profile `DIR` (default: the embedded H200 Llama-3.1-8B profile)")
	fs.StringVar(&f.compare, "compare", compete.DefaultCompare, "planners to compare with tidal (reactive: alias of hpa)")
	fs.Float64Var(&f.staticGoal, "static-goal", 0, "SLO attainment static's search and hpa's tuning must reach (0: the policy's slo.objective, 99% unless it sets one)")
	fs.IntVar(&f.maxContext, "max-context", sim.DefaultMaxContext, "longest request (input + output tokens) the engines accept")
	fs.BoolVar(&f.dropOverContext, "drop-over-context", false, "filter over-context requests out instead of counting them as rejected SLO misses")
	fs.DurationVar(&f.scrape, "scrape-interval", 15*time.Second, "Prometheus scrape interval of the simulated metrics")
	fs.DurationVar(&f.history, "history", -1, "load history before the workload that warms tidal's forecasters, as the live loop's backfill does (synthetic and servegen; default: the policy's forecast history; 0: none)")
	fs.StringVar(&f.jsonOut, "json", "", "also write the results as JSON to `FILE` (- for stdout; the table then goes to stderr)")
	fs.StringVar(&f.reportDir, "report", "", "also write an HTML report with SVG plots to `DIR`")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	fs.IntVar(&f.seeds, "seeds", 1, "run the comparison for this many consecutive seeds from --seed and report the mean and spread")
	fs.StringVar(&f.decisions, "decisions", "", "write tidal's every decision (first seed) with its reasons as CSV to `FILE`")
	fs.StringVar(&f.markdown, "markdown", "", "also write the results as a Markdown table to `FILE` (docs)")
	f.world.register(fs)
	f.restart.register(fs)
	f.bursts.register(fs)
}

// runSimulate implements "tidal simulate".
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f simulateFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs, simulateUsage, simulateExamples)
			return 0
		}
		fmt.Fprintf(stderr, "tidal simulate: %v\n\n", err)
		printUsage(stderr, fs, simulateUsage, simulateExamples)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tidal simulate: unexpected arguments %q\n\n", fs.Args())
		printUsage(stderr, fs, simulateUsage, simulateExamples)
		return 2
	}
	if err := simulate(ctx, f, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "tidal simulate: %v\n", err)
		return 1
	}
	return 0
}

func simulate(ctx context.Context, f simulateFlags, stdout, stderr io.Writer) error {
	if err := checkSimFlags(f); err != nil {
		return err
	}
	names, err := compete.ParseNames(f.compare)
	if err != nil {
		return err
	}
	var log decisionLog
	var risks riskTrack
	record := risks.record
	if f.decisions != "" {
		record = func(d planner.Decision) { log.record(d); risks.record(d) }
	}
	entries, info, err := runSeeds(ctx, f, names, stderr, record)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		info.Rejected, info.Filtered = entries[0].Result.Rejected, entries[0].Result.Filtered
	}
	if f.decisions != "" {
		if err := log.write(f.decisions); err != nil {
			return err
		}
	}
	return writeSimResults(f, info, entries, &risks, stdout, stderr)
}

// buildSimSetup loads the policy, profile and workload the flags name and assembles the
// comparison and the report's description of it.
func buildSimSetup(f simulateFlags) (compete.Setup, report.Workload, error) {
	pol, polName, err := loadSimPolicy(f.policy)
	if err != nil {
		return compete.Setup{}, report.Workload{}, err
	}
	prof, err := loadSimProfile(f.profile, pol)
	if err != nil {
		return compete.Setup{}, report.Workload{}, err
	}
	truth, err := f.world.truth(prof)
	if err != nil {
		return compete.Setup{}, report.Workload{}, err
	}
	dep, err := sim.DeploymentFromPolicy(pol, truth)
	if err != nil {
		return compete.Setup{}, report.Workload{}, err
	}
	dep.MaxContext = f.maxContext
	wl, info, hist, err := loadSimWorkload(f)
	if err != nil {
		return compete.Setup{}, report.Workload{}, err
	}
	span := f.history
	if span < 0 {
		span = pol.Planning.Forecast.History
	}
	info.Policy, info.Profile = polName, describeWorld(prof, truth)
	info.TTFTms, info.ITLms = float64(dep.TTFT.Microseconds())/1000, float64(dep.ITL.Microseconds())/1000
	info.Objective = pol.SLO.Objective
	info.TidalRestarts = f.restart.describe()
	return compete.Setup{Deployment: dep, Workload: wl, Policy: pol, Profile: prof, StaticGoal: f.staticGoal,
		History: hist(span, pol.Planning.Interval), TidalRestart: f.restart.restart(simEpoch),
		Options: sim.Options{Epoch: simEpoch, ScrapeInterval: f.scrape,
			DropOverContext: f.dropOverContext}}, info, nil
}

// writeSimResults prints the table and tidal's error-budget summary (to stderr when the JSON goes
// to stdout) and writes the JSON and the HTML report when asked.
func writeSimResults(f simulateFlags, info report.Workload, entries []report.Entry, risks *riskTrack, stdout, stderr io.Writer) error {
	tableOut := stdout
	if f.jsonOut == "-" {
		tableOut = stderr
	}
	if err := report.Table(tableOut, info, entries); err != nil {
		return err
	}
	risks.write(tableOut, info.Objective)
	if f.jsonOut != "" {
		if err := writeJSONFile(f.jsonOut, info, entries, stdout); err != nil {
			return err
		}
	}
	if f.markdown != "" {
		if err := writeMarkdownFile(f.markdown, info, entries); err != nil {
			return err
		}
	}
	if f.reportDir != "" {
		if err := report.HTML(f.reportDir, info, entries, risks.series()); err != nil {
			return err
		}
		fmt.Fprintf(tableOut, "report: %s\n", filepath.Join(f.reportDir, "index.html"))
	}
	return nil
}

func writeJSONFile(path string, info report.Workload, entries []report.Entry, stdout io.Writer) (err error) {
	if path == "-" {
		return report.JSON(stdout, info, entries)
	}
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the JSON results: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing the JSON results: %w", cerr)
		}
	}()
	return report.JSON(out, info, entries)
}

// runContenders runs the planners concurrently (at most GOMAXPROCS at once) and returns their
// entries in the contenders' order. Each run is deterministic, so the order of completion does
// not matter. A run cannot be stopped part-way, so when ctx ends (Ctrl-C, SIGTERM) the runs still
// going are abandoned, not waited for: it returns at once, and they end with the process (a
// hindsight search can take tens of minutes).
func runContenders(ctx context.Context, cs []compete.Contender, progress func(int, float64)) ([]report.Entry, error) {
	entries := make([]report.Entry, len(cs))
	errs := make([]error, len(cs))
	var stopped atomic.Bool // no progress drawn once abandoned
	draw := func(i int, x float64) {
		if !stopped.Load() {
			progress(i, x)
		}
	}
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			entries[i], errs[i] = c.Run(func(x float64) { draw(i, x) })
			draw(i, 1)
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		stopped.Store(true)
		progress(-1, 1)
		return nil, fmt.Errorf("interrupted, runs abandoned: %w", ctx.Err())
	}
	progress(-1, 1)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return entries, nil
}

// progressBar returns a progress callback drawing one bar on stderr when it is a terminal (and a
// no-op otherwise). It is safe for concurrent use; index -1 ends the bar.
func progressBar(stderr io.Writer, quiet bool, n int) func(int, float64) {
	file, ok := stderr.(*os.File)
	if quiet || !ok {
		return func(int, float64) {}
	}
	if st, err := file.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return func(int, float64) {}
	}
	var mu sync.Mutex
	fractions := make([]float64, n)
	return func(i int, x float64) {
		mu.Lock()
		defer mu.Unlock()
		if i < 0 {
			fmt.Fprint(file, "\r\033[K")
			return
		}
		if i < len(fractions) {
			fractions[i] = x
		}
		sum := 0.0
		for _, v := range fractions {
			sum += v
		}
		done := min(sum/float64(max(len(fractions), 1)), 1)
		const width = 40
		n := int(done * width)
		fmt.Fprintf(file, "\rsimulating [%s%s] %3.0f%%", strings.Repeat("#", n), strings.Repeat(" ", width-n), 100*done)
	}
}

func loadSimPolicy(path string) (policies.Policy, string, error) {
	if path == "" {
		p, err := scenario.Policy()
		return p, scenario.PolicyName, err
	}
	p, err := policies.LoadFile(path)
	if err != nil {
		return policies.Policy{}, "", fmt.Errorf("loading the policy: %w", err)
	}
	return p, path, nil
}

// historyFunc returns the load before the workload over a span at a step (empty if unknown).
type historyFunc func(span, step time.Duration) planner.LoadHistory

func noHistory(time.Duration, time.Duration) planner.LoadHistory { return planner.LoadHistory{} }

// loadSimWorkload builds the workload the flags describe, its description for the report, and
// where its history comes from.
func loadSimWorkload(f simulateFlags) (sim.Workload, report.Workload, historyFunc, error) {
	format := f.format
	if format == "" {
		format = guessFormat(f.workload)
	}
	info := report.Workload{Format: format, Source: f.workload, RateScale: f.rateScale, Seed: f.seed}
	var wl sim.Workload
	var err error
	hist := historyFunc(noHistory)
	if f.world.speedup != 1 && format != "azure" && format != "mooncake" {
		return sim.Workload{}, report.Workload{}, nil, fmt.Errorf("--speedup compresses request traces (azure, mooncake) only, not --format %s", format)
	}
	if f.bursts.set() && format != "synthetic" {
		return sim.Workload{}, report.Workload{}, nil, fmt.Errorf("--bursts, --burst-factor and --burst-length shape the synthetic day, not --format %s", format)
	}
	switch format {
	case "synthetic":
		wl, hist, err = syntheticWorkload(f)
	case "azure", "mooncake":
		var reqs []workload.Request
		if reqs, err = readTrace(f.workload, format); err == nil {
			wl, err = synth.FromTrace(filepath.Base(f.workload), reqs,
				synth.TraceOptions{RateScale: f.rateScale, Speedup: f.world.speedup, Seed: f.seed})
		}
	case "servegen":
		wl, hist, err = servegenWorkload(f)
	default:
		err = fmt.Errorf("unknown --format %q (want azure, mooncake, servegen or synthetic)", format)
	}
	if err != nil {
		return sim.Workload{}, report.Workload{}, nil, err
	}
	info.Name = wl.Name
	info.Requests = len(wl.Requests)
	info.Hours = wl.Duration.Hours()
	if wl.Duration > 0 {
		info.MeanRate = float64(len(wl.Requests)) / wl.Duration.Seconds()
	}
	return wl, info, hist, nil
}

func guessFormat(path string) string {
	switch {
	case path == "":
		return "synthetic"
	case strings.HasSuffix(path, ".csv"):
		return "azure"
	case strings.HasSuffix(path, ".jsonl"):
		return "mooncake"
	}
	return "servegen"
}

// readTrace reads a per-request trace file in the given format.
func readTrace(path, format string) ([]workload.Request, error) {
	if path == "" {
		return nil, fmt.Errorf("--format %s needs --workload FILE", format)
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the workload: %w", err)
	}
	defer file.Close()
	if format == "mooncake" {
		return workload.ReadMooncake(file, path)
	}
	return workload.ReadAzure(file, path)
}

// tokenSource is where synthetic and ServeGen requests get their lengths: --tokens-from, or the
// built-in scenario's log-normal lengths.
func tokenSource(f simulateFlags) (synth.TokenSource, error) {
	if f.tokensFrom == "" {
		return scenario.DefaultTokens(), nil
	}
	reqs, err := readTrace(f.tokensFrom, guessFormat(f.tokensFrom))
	if err != nil {
		return nil, fmt.Errorf("--tokens-from: %w", err)
	}
	return synth.NewSampled(synth.Requests(reqs))
}

func syntheticWorkload(f simulateFlags) (sim.Workload, historyFunc, error) {
	if f.workload != "" {
		return sim.Workload{}, nil, errors.New("--format synthetic takes no --workload (use --shape, --rate, --duration)")
	}
	tokens, err := tokenSource(f)
	if err != nil {
		return sim.Workload{}, nil, err
	}
	spec := scenario.Day(f.seed)
	spec.Shape, spec.Tokens = synth.Shape(f.shape), tokens
	if spec.Shape != synth.Diurnal {
		spec.Bursts = 0
	}
	if f.rate > 0 {
		spec.Rate = f.rate
	}
	spec.Rate *= f.rateScale
	if f.duration > 0 {
		spec.Duration = f.duration
	}
	if err := f.bursts.apply(&spec); err != nil {
		return sim.Workload{}, nil, err
	}
	wl, err := synth.Synthetic(spec)
	wl.Name += f.bursts.describe(spec)
	hist := func(span, step time.Duration) planner.LoadHistory {
		return synth.SyntheticHistory(spec, span, step)
	}
	return wl, hist, err
}

func servegenWorkload(f simulateFlags) (sim.Workload, historyFunc, error) {
	if f.workload == "" {
		return sim.Workload{}, nil, errors.New("--format servegen needs --workload DIR (a ServeGen model directory)")
	}
	if f.tokensFrom == "" {
		return sim.Workload{}, nil, errors.New("--format servegen needs --tokens-from FILE: ServeGen has no token lengths")
	}
	sg, err := workload.ReadServeGen(os.DirFS(f.workload), ".")
	if err != nil {
		return sim.Workload{}, nil, fmt.Errorf("reading the workload: %w", err)
	}
	tokens, err := tokenSource(f)
	if err != nil {
		return sim.Workload{}, nil, err
	}
	dur := f.duration
	if dur == 0 {
		dur = 24 * time.Hour
	}
	opts := synth.ServeGenOptions{Start: f.start, Duration: dur, RateScale: f.rateScale, Seed: f.seed, Tokens: tokens}
	wl, err := synth.ServeGen(sg, opts)
	wl.Name = "servegen-" + filepath.Base(f.workload)
	hist := func(span, step time.Duration) planner.LoadHistory {
		return synth.ServeGenHistory(sg, opts, span, step)
	}
	return wl, hist, err
}
