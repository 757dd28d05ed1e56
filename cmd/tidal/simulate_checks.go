package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"
)

// maxSeeds bounds --seeds: every seed is a whole comparison.
const maxSeeds = 100

// checkSimFlags rejects bad flag values before anything runs, each error naming its flag: numbers
// out of range, and --json, --report and --decisions paths that cannot be written.
func checkSimFlags(f simulateFlags) error {
	var errs []error
	bad := func(flag string, v any, want string) {
		errs = append(errs, fmt.Errorf("--%s %v: want %s", flag, v, want))
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if !finite(f.rate) || f.rate < 0 {
		bad("rate", f.rate, "requests/s >= 0 (0: the built-in scenario's rate)")
	}
	if !finite(f.rateScale) || f.rateScale <= 0 {
		bad("rate-scale", f.rateScale, "a factor > 0")
	}
	if !finite(f.staticGoal) || f.staticGoal < 0 || f.staticGoal > 1 {
		bad("static-goal", f.staticGoal, "an attainment in (0, 1], e.g. 0.99, or 0 for the policy's objective")
	}
	errs = append(errs, f.bursts.check()...)
	if f.restart.noReplay && len(f.restart.at) == 0 {
		bad("restart-no-replay", true, "--restart-at too: it says how a restart is made")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"start", f.start}, {"duration", f.duration}} {
		if d.v < 0 {
			bad(d.flag, d.v, "a duration >= 0")
		}
	}
	if f.scrape <= 0 {
		bad("scrape-interval", f.scrape, "a duration > 0")
	}
	if f.history < -1 {
		bad("history", f.history, "a duration >= 0 (0: none)")
	}
	if f.maxContext <= 0 {
		bad("max-context", f.maxContext, "tokens > 0")
	}
	if f.seeds < 1 || f.seeds > maxSeeds {
		bad("seeds", f.seeds, fmt.Sprintf("1 to %d", maxSeeds))
	}
	for _, p := range []struct{ flag, path string }{{"json", f.jsonOut}, {"decisions", f.decisions}, {"markdown", f.markdown}} {
		if p.path != "" && p.path != "-" {
			if err := writableFile(p.path); err != nil {
				errs = append(errs, fmt.Errorf("--%s %s: %w", p.flag, p.path, err))
			}
		}
	}
	if f.reportDir != "" {
		if err := writableDir(f.reportDir); err != nil {
			errs = append(errs, fmt.Errorf("--report %s: %w", f.reportDir, err))
		}
	}
	return errors.Join(errs...)
}

// writableFile checks a file can be created or replaced at path, without touching path itself.
func writableFile(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return errors.New("is a directory, want a file")
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("its directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return probe(dir)
}

// writableDir checks a directory exists or can be created, and files can be written in it.
func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return probe(dir)
}

// probe creates and removes a temporary file in dir.
func probe(dir string) error {
	tmp, err := os.CreateTemp(dir, ".tidal-write-check-*")
	if err != nil {
		return fmt.Errorf("cannot write there: %w", err)
	}
	name := tmp.Name()
	tmp.Close()
	return os.Remove(name)
}
