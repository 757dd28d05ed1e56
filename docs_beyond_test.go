package tidal_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The held-out checks of docs/simulate.md ("Beyond the table: worlds no change was measured in"):
// the mixed worlds (docs/simulate-runs/mixed, written by the panel with WORLDS and COMPARE set)
// and every ServeGen day in each world (docs/simulate-runs/days/<world>.txt, the summary --days
// writes). As for the main table, every cell is read back out of the committed runs.

var (
	mixedDir       = filepath.Join(runsDir, "mixed")
	daysDir        = filepath.Join(runsDir, "days")
	decodeHeavyDir = filepath.Join(runsDir, "decode-heavy")
)

// TestBeyondTablesMatchTheRuns: each held-out table of docs/simulate.md ("Beyond the table: ...")
// against the runs committed for it, cell by cell, with static and the tuned HPA as its rivals.
func TestBeyondTablesMatchTheRuns(t *testing.T) {
	rivals := []string{"static", "hpa"}
	for _, tb := range []runsTable{
		{header: "| workload | mixed world | tidal | hindsight |", name: "mixed-worlds",
			rows: 14, shape: "seven workloads, two worlds", dir: mixedDir},
		{header: "| lengths | world | tidal | hindsight |", name: "decode-heavy",
			rows: 9, shape: "chat, reasoning at 5 and at 15 req/s, three worlds each", dir: decodeHeavyDir},
		{header: "| policy | world | tidal | hindsight |", name: "SLOs", // testdata/sim/slo
			rows: 18, shape: "six policies, three worlds each", dir: filepath.Join(runsDir, "slo")},
		{header: "| deployment | world | tidal | hindsight |", name: "deployments", // testdata/sim/deploy, scrape intervals
			rows: 24, shape: "eight deployments, three worlds each", dir: filepath.Join(runsDir, "deploy")},
		{header: "| model | world | tidal | hindsight |", name: "models", // testdata/sim/models: Llama-3.3-70B, TP2/4/8
			rows: 9, shape: "three configurations, three worlds each", dir: filepath.Join(runsDir, "models")},
		{header: "| three days | world | tidal | hindsight |", name: "three-days", // the synthetic workload over 72 h
			rows: 6, shape: "two deployments, three worlds each", dir: filepath.Join(runsDir, "days72")},
		{header: "| bursts | world | tidal | hindsight |", name: "bursts", // --bursts, --burst-factor, --burst-length
			rows: 15, shape: "five burst regimes, three worlds each", dir: filepath.Join(runsDir, "bursts")},
	} {
		t.Run(tb.name, func(t *testing.T) {
			tb.rivals = rivals
			checkRunsTable(t, tb)
		})
	}
}

// dayRun is tidal's line of one day in a days summary, as printed (two and one decimals).
type dayRun struct {
	attainment, gpuHours float64 // percent; hours
	events               string
}

// String is the table's cell: "99.52% / 291.2 / 106".
func (d dayRun) String() string {
	return fmt.Sprintf("%.2f%% / %.1f / %s", d.attainment, d.gpuHours, d.events)
}

// readDays reads docs/simulate-runs/days/<world>.txt: one line per model and day,
// "m-large-d1 tidal 99.52% 291.2 106", keyed by "m-large-d1".
func readDays(t *testing.T, world string) map[string]dayRun {
	t.Helper()
	path := filepath.Join(daysDir, world+".txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no committed days for the %s world: %v", world, err)
	}
	defer f.Close()
	out := map[string]dayRun{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fs := strings.Fields(sc.Text())
		if len(fs) < 5 || fs[1] != "tidal" {
			t.Fatalf("%s:%d: want \"<model>-d<day> tidal <attainment>%% <GPU-hours> <events>\", got %q", path, line, sc.Text())
		}
		a, errA := strconv.ParseFloat(strings.TrimSuffix(fs[2], "%"), 64)
		g, errG := strconv.ParseFloat(fs[3], 64)
		if err := errors.Join(errA, errG); err != nil {
			t.Fatalf("%s:%d: attainment %q, GPU-hours %q: %v", path, line, fs[2], fs[3], err)
		}
		out[fs[0]] = dayRun{attainment: a, gpuHours: g, events: fs[4]}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) != 28 {
		t.Fatalf("%s has %d days, want 28 (14 of each model)", path, len(out))
	}
	return out
}

// dayColumns are the per-day table's columns after the day: model and world.
var dayColumns = [][2]string{
	{"m-large", "exact"}, {"m-large", "slow"}, {"m-large", "fast"},
	{"m-small", "exact"}, {"m-small", "slow"}, {"m-small", "fast"},
}

func TestDaysTablesMatchTheRuns(t *testing.T) {
	days := map[string]map[string]dayRun{}
	for _, w := range tableWorlds {
		days[w] = readDays(t, w)
	}
	md := filepath.Join("docs", "simulate.md")
	t.Run("exact world, with the rivals", func(t *testing.T) {
		// Its rivals' cells come from runs of their own; tidal's are columns 1 and 3.
		for _, r := range tableRows(t, md, "| day | m-large x0.5: tidal |") {
			for i, m := range map[int]string{1: "m-large", 3: "m-small"} {
				want := days["exact"][m+"-d"+r[0]].String()
				if got := strings.Trim(r[i], "*"); got != want {
					t.Errorf("day %s, %s: got %q, want %q (from %s)", r[0], m, got, want, daysDir)
				}
			}
		}
	})
	t.Run("every world", func(t *testing.T) {
		rows := tableRows(t, md, "| day | m-large, exact | m-large, slow |")
		if len(rows) != 14 {
			t.Errorf("the per-world days table has %d rows, want 14", len(rows))
		}
		for _, r := range rows {
			want := []string{}
			for _, c := range dayColumns {
				want = append(want, days[c[1]][c[0]+"-d"+r[0]].String())
			}
			if got := r[1:]; !equalCells(got, want) {
				t.Errorf("day %s:\n got  %q\n want %q (from %s)", r[0], got, want, daysDir)
			}
		}
	})
	t.Run("summary", func(t *testing.T) {
		for _, r := range tableRows(t, md, "| world | model | days at or above 99% |") {
			want := daySummary(days[r[0]], r[1])
			if got := r[2:]; !equalCells(got, want) {
				t.Errorf("%s world, %s:\n got  %q\n want %q (from %s)", r[0], r[1], got, want, daysDir)
			}
		}
	})
}

// daySummary is one summary row: days at or above the 99% objective, the median attainment,
// the lowest day, and the GPU-hours over the 14 days.
func daySummary(days map[string]dayRun, model string) []string {
	var att []float64
	gpu, low, lowDay, met := 0.0, 101.0, "", 0
	for d := 1; d <= 14; d++ {
		r := days[fmt.Sprintf("%s-d%d", model, d)]
		att = append(att, r.attainment)
		gpu += r.gpuHours
		if r.attainment >= 99 {
			met++
		}
		if r.attainment < low {
			low, lowDay = r.attainment, fmt.Sprintf("day %d", d)
		}
	}
	sort.Float64s(att)
	median := (att[6] + att[7]) / 2
	return []string{fmt.Sprintf("%d of 14", met), fmt.Sprintf("%.2f%%", median),
		fmt.Sprintf("%.2f%% (%s)", low, lowDay), fmt.Sprintf("%.1f", gpu)}
}
