package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim/compete"
	"github.com/tidal-planner/tidal/planner/sim/report"
)

// runSeeds runs the comparison for --seeds consecutive seeds from --seed and merges the entries
// (Runs per planner). tidal's decisions of the first seed go to record (may be nil).
func runSeeds(ctx context.Context, f simulateFlags, names []string, stderr io.Writer, record func(planner.Decision)) ([]report.Entry, report.Workload, error) {
	var merged []report.Entry
	var info report.Workload
	for i := range f.seeds {
		fs := f
		fs.seed = f.seed + uint64(i)
		setup, inf, err := buildSimSetup(fs)
		if err != nil {
			return nil, report.Workload{}, err
		}
		if i == 0 {
			setup.TidalDecisions, info = record, inf
		}
		cs, err := compete.Contenders(setup, names)
		if err != nil {
			return nil, report.Workload{}, err
		}
		entries, err := runContenders(ctx, cs, progressBar(stderr, f.quiet, len(cs)))
		if err != nil {
			return nil, report.Workload{}, err
		}
		if i == 0 {
			merged = entries
		}
		for j := range merged {
			if f.seeds > 1 {
				merged[j].Runs = append(merged[j].Runs, entries[j].Result)
				merged[j].Seeds = append(merged[j].Seeds, fs.seed)
			}
		}
	}
	return merged, info, nil
}

// decisionLog collects tidal's decisions for --decisions.
type decisionLog struct {
	rows []planner.Decision
}

func (l *decisionLog) record(d planner.Decision) { l.rows = append(l.rows, d) }

// decisionHeader is the CSV header of --decisions.
var decisionHeader = []string{"time", "service", "role", "current", "ready", "desired", "held", "need",
	"request_rate", "input_token_rate", "output_token_rate", "input_tokens", "output_tokens", "gpus", "reasons"}

// write writes one CSV row per decision and service: what tidal decided and every reason.
func (l *decisionLog) write(path string) (err error) {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing --decisions: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing --decisions: %w", cerr)
		}
	}()
	w := csv.NewWriter(out)
	if err := w.Write(decisionHeader); err != nil {
		return fmt.Errorf("writing --decisions: %w", err)
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, d := range l.rows {
		for _, s := range d.Services {
			var reasons []string
			for _, r := range s.Reasons {
				reasons = append(reasons, r.String())
			}
			row := []string{d.Time.UTC().Format("2006-01-02T15:04:05Z"), s.Name, string(s.Role),
				strconv.Itoa(int(s.Current)), strconv.Itoa(int(s.Ready)), strconv.Itoa(int(s.Desired)),
				strconv.FormatBool(s.Held), num(s.Need), num(s.Load.RequestRate), num(s.Load.InputTokenRate),
				num(s.Load.OutputTokenRate), num(s.Load.InputTokens), num(s.Load.OutputTokens),
				strconv.Itoa(int(d.GPUs)), strings.Join(reasons, " | ")}
			if err := w.Write(row); err != nil {
				return fmt.Errorf("writing --decisions: %w", err)
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("writing --decisions: %w", err)
	}
	return nil
}

func writeMarkdownFile(path string, info report.Workload, entries []report.Entry) (err error) {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing --markdown: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing --markdown: %w", cerr)
		}
	}()
	return report.Markdown(out, info, entries)
}
