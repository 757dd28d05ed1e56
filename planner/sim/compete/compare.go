package compete

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/sim/report"
	"github.com/tidal-planner/tidal/policies"
)

// Planner names, in the order results are shown.
const (
	NameTidal     = "tidal"
	NameHindsight = "hindsight"
	NameStatic    = "static"
	NameHPA       = "hpa"
	NameDynamo    = "dynamo"
	NameDynamoFPM = "dynamo-fpm"
	// NameOracle is the earlier look-ahead heuristic, kept selectable (not in the default
	// comparison): hindsight replaces it as the reference.
	NameOracle = "oracle"
	// NameReactive is the earlier name of hpa, accepted as an alias.
	NameReactive = "reactive"
)

// Names lists every planner name in display order.
func Names() []string {
	return []string{NameTidal, NameHindsight, NameStatic, NameHPA, NameDynamo, NameDynamoFPM, NameOracle}
}

// DefaultCompare is the planners compared with tidal when none are named.
const DefaultCompare = "hindsight,static,hpa,dynamo,dynamo-fpm"

// ParseNames reads a comma-separated planner list ("static,dynamo"), adds tidal first, maps
// aliases (reactive: hpa), drops duplicates and orders the result as Names does.
func ParseNames(list string) ([]string, error) {
	want := map[string]bool{NameTidal: true}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == NameReactive {
			n = NameHPA
		}
		if n == "" {
			continue
		}
		if !slices.Contains(Names(), n) {
			return nil, fmt.Errorf("unknown planner %q (want some of %s)", n, strings.Join(Names()[1:], ","))
		}
		want[n] = true
	}
	var out []string
	for _, n := range Names() {
		if want[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// Setup is one comparison: the same deployment, workload and options for every planner.
type Setup struct {
	Deployment sim.Deployment
	Workload   sim.Workload
	Policy     policies.Policy
	Profile    profile.Profile
	Options    sim.Options
	// StaticGoal is the attainment static's search and hpa's tuning must reach. 0 means the
	// policy's objective (slo.objective, Policy.SLO.Objective), else defaultGoal: a competent
	// operator sizes a fixed allocation, and tunes an HPA, for the attainment the team is judged
	// by, so a policy asking 95% gets rivals tuned for 95%, not for 99%.
	StaticGoal float64
	// TidalDecisions, when set, gets every decision tidal's planner makes (--decisions).
	TidalDecisions func(planner.Decision)
	// History is the load before the workload, at the policy's planning interval, that tidal's
	// forecasters are warmed with (the live loop reads it from Prometheus); empty for none.
	History planner.LoadHistory
	// TidalRestart restarts tidal's planner during the run (none when its At is empty); its
	// Epoch is the workload's start, Options.Epoch.
	TidalRestart Restart
}

// Contender is one planner ready to run; Run is independent of every other Contender's, so
// contenders may run concurrently. progress (may be nil) gets the fraction simulated now and then.
type Contender struct {
	Name string
	Run  func(progress func(float64)) (report.Entry, error)
}

// Contenders prepares the named planners. Every planner but static starts from the same warm
// allocation: what the oracle would run for the first minutes (a deployment already serving the
// load of the moment), so no planner is judged on a cold start. hindsight needs tidal's attainment:
// whichever of the two runs first runs tidal (once), so contenders may run in any order.
func Contenders(s Setup, names []string) ([]Contender, error) {
	s.StaticGoal = rivalGoal(s)
	warm := NewOracle(s.Deployment, s.Workload, OracleOptions{Epoch: s.Options.Epoch}).At(0)
	d := WithInitial(s.Deployment, warm)
	tidal := &onceEntry{run: func(p func(float64)) (report.Entry, error) {
		tp, note := tidalPolicy(s)
		t := NewTidal(tp, &s.Profile, s.History)
		t.OnDecision, t.Restart = s.TidalDecisions, s.TidalRestart
		e, err := runAutoscaler(s, d, NameTidal, t, p)
		e.Note = note
		return e, err
	}}
	var out []Contender
	for _, name := range names {
		var run func(func(float64)) (report.Entry, error)
		switch name {
		case NameTidal:
			run = tidal.get
		case NameHindsight:
			run = func(p func(float64)) (report.Entry, error) {
				ref, err := tidal.get(nil)
				if err != nil {
					return report.Entry{}, err
				}
				return runHindsight(s, d, ref.Result.Attainment, p)
			}
		case NameHPA:
			run = func(p func(float64)) (report.Entry, error) { return runHPA(s, d, p) }
		case NameDynamo:
			run = func(p func(float64)) (report.Entry, error) {
				dy := NewDynamo(d, s.Profile, int(s.Policy.Budget.MaxGPUs), s.History, s.Policy.Planning.Interval)
				return runAutoscaler(s, d, name, dy, p)
			}
		case NameDynamoFPM:
			run = func(p func(float64)) (report.Entry, error) {
				f := NewDynamoFPM(d, s.Profile, int(s.Policy.Budget.MaxGPUs), s.History, s.Policy.Planning.Interval)
				e, err := runAutoscaler(s, d, name, f, p)
				e.Note = fmt.Sprintf("%d adjustments, held %d for no traffic data and %d for a model not ready (a negative fitted coefficient)",
					f.Adjustments, f.NoTraffic, f.NotReady)
				return e, err
			}
		case NameOracle:
			run = func(p func(float64)) (report.Entry, error) {
				return runAutoscaler(s, d, name, NewOracle(d, s.Workload, OracleOptions{Epoch: s.Options.Epoch}), p)
			}
		case NameStatic:
			run = func(func(float64)) (report.Entry, error) { return runStatic(s) }
		default:
			return nil, fmt.Errorf("unknown planner %q", name)
		}
		out = append(out, Contender{Name: name, Run: run})
	}
	return out, nil
}

// onceEntry runs a contender at most once and hands its entry to every caller.
type onceEntry struct {
	once  sync.Once
	run   func(func(float64)) (report.Entry, error)
	entry report.Entry
	err   error
}

func (o *onceEntry) get(progress func(float64)) (report.Entry, error) {
	o.once.Do(func() { o.entry, o.err = o.run(progress) })
	return o.entry, o.err
}

func runAutoscaler(s Setup, d sim.Deployment, name string, as sim.Autoscaler, progress func(float64)) (report.Entry, error) {
	opt := s.Options
	opt.Progress = progress
	r, err := sim.Run(d, s.Workload, as, opt)
	if err != nil {
		return report.Entry{}, fmt.Errorf("running %s: %w", name, err)
	}
	return report.Entry{Planner: name, Result: r}, nil
}

// runHindsight searches the hindsight schedule reaching tidal's attainment.
func runHindsight(s Setup, d sim.Deployment, goal float64, progress func(float64)) (report.Entry, error) {
	h := NewHindsight(d, s.Workload, s.Options, HindsightOptions{BudgetGPUs: int(s.Policy.Budget.MaxGPUs)})
	hr, err := h.Search(goal, progress)
	if err != nil {
		return report.Entry{}, err
	}
	var tried []string
	for _, p := range hr.Tried {
		if p.Aborted {
			tried = append(tried, fmt.Sprintf("%.3g: short of the goal, stopped", p.Price))
			continue
		}
		tried = append(tried, fmt.Sprintf("%.3g: %.2f%% %.1f GPU-h", p.Price, 100*p.Attainment, p.GPUHours))
	}
	note := fmt.Sprintf("cheapest of %d miss prices reaching tidal's %.2f%%: %.3g GPU-s per miss (%d window trials; tried %s)",
		len(hr.Tried), 100*goal, hr.Price, h.Runs, strings.Join(tried, ", "))
	switch {
	case hr.Unstopped:
		note = fmt.Sprintf("no miss price tried reached tidal's %.2f%%, each stopped at the miss that made it short; shown: the highest, %.3g GPU-s per miss, run to the end (%d window trials)",
			100*goal, hr.Price, h.Runs)
	case !hr.Reached:
		note = fmt.Sprintf("no miss price tried reached tidal's %.2f%%; shown: the best attainment found (%d window trials)", 100*goal, h.Runs)
	}
	return report.Entry{Planner: NameHindsight, Result: hr.Result, Note: note}, nil
}

// defaultGoal is the attainment static and hpa are tuned for when neither Setup.StaticGoal nor
// the policy sets one: the policies package's default objective, 99%.
const defaultGoal = policies.DefaultObjective / 100

// rivalGoal is the attainment static's search and hpa's tuning aim at in s: Setup.StaticGoal
// when set, else the policy's objective, else defaultGoal.
func rivalGoal(s Setup) float64 {
	switch {
	case s.StaticGoal > 0:
		return s.StaticGoal
	case s.Policy.SLO.Objective > 0:
		return s.Policy.SLO.Objective
	}
	return defaultGoal
}

// runHPA tunes the HPA's targets in hindsight, then runs it.
func runHPA(s Setup, d sim.Deployment, progress func(float64)) (report.Entry, error) {
	t, err := TuneHPA(s, d, s.StaticGoal)
	if err != nil {
		return report.Entry{}, err
	}
	opt := s.Options
	opt.Progress = progress
	r, err := sim.Run(d, s.Workload, &HPA{Deployment: d, PrefillTokensPerReplica: t.PrefillTokensPerReplica, KVUsagePerReplica: t.KVUsagePerReplica, Window: hpaWindow(s)}, opt)
	if err != nil {
		return report.Entry{}, fmt.Errorf("running hpa: %w", err)
	}
	note := fmt.Sprintf("targets tuned in hindsight for %.1f%% attainment: %.0f input tokens/s and %.2f KV usage per replica (%d runs searched)",
		100*s.StaticGoal, t.PrefillTokensPerReplica, t.KVUsagePerReplica, t.Runs)
	return report.Entry{Planner: NameHPA, Result: r, Note: note}, nil
}

func runStatic(s Setup) (report.Entry, error) {
	sr, err := Search(s.Deployment, s.Workload, s.StaticGoal, s.Options)
	if err != nil {
		return report.Entry{}, err
	}
	var parts []string
	for _, svc := range s.Deployment.Services {
		parts = append(parts, fmt.Sprintf("%s=%d", svc.Name, sr.Replicas[svc.Name]))
	}
	note := fmt.Sprintf("smallest fixed allocation reaching %.1f%% attainment: %s (%d runs searched)",
		100*s.StaticGoal, strings.Join(parts, ", "), sr.Runs)
	if sr.Result.Attainment < s.StaticGoal {
		note = fmt.Sprintf("no allocation within the maximums reaches %.1f%%; shown at the maximums: %s",
			100*s.StaticGoal, strings.Join(parts, ", "))
	}
	return report.Entry{Planner: NameStatic, Result: sr.Result, Note: note}, nil
}

func meanLengths(wl sim.Workload) (isl, osl float64) {
	if len(wl.Requests) == 0 {
		return 1, 1
	}
	for _, r := range wl.Requests {
		isl += float64(r.InputTokens)
		osl += float64(r.OutputTokens)
	}
	n := float64(len(wl.Requests))
	return max(isl/n, 1), max(osl/n, 1)
}

// tidalPolicy returns the policy tidal runs in a Setup's world: s.Policy fitted to the simulated
// Prometheus's scrape interval (policies.Policy.FitScrape), as the live loop fits it to the
// interval it measures, and the note saying what the fitting widened ("" for nothing).
func tidalPolicy(s Setup) (policies.Policy, string) {
	return s.Policy.FitScrape(scrapeOf(s))
}

// scrapeOf is the simulated Prometheus's scrape interval in a Setup's world.
func scrapeOf(s Setup) time.Duration {
	if s.Options.ScrapeInterval > 0 {
		return s.Options.ScrapeInterval
	}
	return sim.DefaultScrapeInterval
}
