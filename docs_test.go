package tidal_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The result tables of docs/simulate.md and the README are typed by hand from the runs committed
// in docs/simulate-runs (docs/simulate-runs.sh writes them). These tests read every cell back out
// of the runs' JSON, so a table left behind by a rerun, or a figure mistyped, fails here.

// runsDir holds the committed runs.
var runsDir = filepath.Join("docs", "simulate-runs")

// runResult is the part of one planner's result in a run's JSON that the tables show.
type runResult struct {
	Planner      string  `json:"planner"`
	GPUHours     float64 `json:"gpu_hours"`
	Attainment   float64 `json:"slo_attainment"`
	AttainmentSD float64 `json:"slo_attainment_sd"`
	Seeds        int     `json:"seeds"`
	ScaleEvents  float64 `json:"scale_events"`
}

// readRun returns the results of the committed run of one row and world, by planner.
func readRun(t *testing.T, row, world string) map[string]runResult {
	t.Helper()
	return readRunIn(t, runsDir, row, world)
}

// readRunIn is readRun for the runs committed in dir.
func readRunIn(t *testing.T, dir, row, world string) map[string]runResult {
	t.Helper()
	path := filepath.Join(dir, row+"-"+world+".json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no committed run for %s, %s world: %v", row, world, err)
	}
	var doc struct {
		Results []runResult `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]runResult{}
	for _, r := range doc.Results {
		out[r.Planner] = r
	}
	return out
}

// cell is a table cell for one planner: "99.53% ±0.09 / 78.5", the sd shown only with withSD,
// several seeds and a spread (docs/simulate.md: "no sd: identical over the seeds").
func cell(r runResult, withSD bool) string {
	a := fmt.Sprintf("%.2f%%", 100*r.Attainment)
	if withSD && r.Seeds > 1 && r.AttainmentSD > 0 {
		a += fmt.Sprintf(" ±%.2f", 100*r.AttainmentSD)
	}
	return fmt.Sprintf("%s / %.1f", a, r.GPUHours)
}

// tableRows returns the cells of the Markdown table under the header line that starts with
// header, row by row, without the leading and trailing pipes.
func tableRows(t *testing.T, path, header string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, header) {
			continue
		}
		var rows [][]string
		for _, l := range lines[i+2:] { // past the header and its rule
			if !strings.HasPrefix(l, "|") {
				break
			}
			cells := strings.Split(strings.Trim(l, "|"), "|")
			for j := range cells {
				cells[j] = strings.TrimSpace(cells[j])
			}
			rows = append(rows, cells)
		}
		return rows
	}
	t.Fatalf("%s has no table headed %q", path, header)
	return nil
}

// rivals are the planner columns after tidal, hindsight and the ratio, in table order.
var rivals = []string{"static", "hpa", "dynamo", "dynamo-fpm"}

// expectedRow is a results row as the committed run gives it: tidal, hindsight, tidal's GPU-hours
// over hindsight's, then the rivals.
func expectedRow(t *testing.T, row, world string, withSD bool) []string {
	t.Helper()
	return expectedRowIn(t, runsDir, row, world, withSD, rivals)
}

// expectedRowIn is expectedRow for the runs committed in dir, with the rivals named.
func expectedRowIn(t *testing.T, dir, row, world string, withSD bool, rivals []string) []string {
	t.Helper()
	rs := readRunIn(t, dir, row, world)
	want := []string{cell(rs["tidal"], withSD), cell(rs["hindsight"], withSD),
		fmt.Sprintf("%.2f", rs["tidal"].GPUHours/rs["hindsight"].GPUHours)}
	for _, p := range rivals {
		want = append(want, cell(rs[p], withSD))
	}
	return want
}

func TestSimulateTableMatchesTheRuns(t *testing.T) {
	checkRunsTable(t, runsTable{header: "| workload | world | tidal | hindsight |", name: "results",
		rows: 27, shape: "nine workloads, three worlds", dir: runsDir, withSD: true, rivals: rivals})
}

// runsTable is a docs/simulate.md table of runs: rows "| row | world | tidal | hindsight | tidal /
// hindsight | rivals... |", each read back out of the runs committed in dir.
type runsTable struct {
	header, name, shape string // the header's start; what the table is, and why it has rows rows
	rows                int
	dir                 string
	withSD              bool // cells carry the spread over seeds
	rivals              []string
}

// checkRunsTable checks every row of docs/simulate.md's table tb against its runs.
func checkRunsTable(t *testing.T, tb runsTable) {
	t.Helper()
	rows := tableRows(t, filepath.Join("docs", "simulate.md"), tb.header)
	if len(rows) != tb.rows {
		t.Errorf("docs/simulate.md's %s table has %d rows, want %d (%s)", tb.name, len(rows), tb.rows, tb.shape)
	}
	for _, r := range rows {
		t.Run(r[0]+"-"+r[1], func(t *testing.T) {
			want := expectedRowIn(t, tb.dir, r[0], r[1], tb.withSD, tb.rivals)
			if got := r[2:]; !equalCells(got, want) {
				t.Errorf("docs/simulate.md's %s row for %s, %s:\n got  %q\n want %q (from %s)", tb.name, r[0], r[1], got, want, tb.dir)
			}
		})
	}
}

// readmeRows maps the README's workload names to the runs' row names (exact world).
var readmeRows = map[string]string{
	"built-in day": "day", "step, 6 h": "step", "spike, 6 h": "spike", "Azure code, 1 h": "azure",
	"Mooncake, 1 h": "mooncake", "aggregated example": "aggregated", "hybrid example": "hybrid",
	"ServeGen m-large day 2, x0.5": "m-large", "ServeGen m-small day 2, x0.1": "m-small",
}

func TestReadmeTableMatchesTheRuns(t *testing.T) {
	rows := tableRows(t, "README.md", "| workload | tidal | hindsight |")
	if len(rows) != len(readmeRows) {
		t.Errorf("the README's results table has %d rows, want %d", len(rows), len(readmeRows))
	}
	for _, r := range rows {
		t.Run(r[0], func(t *testing.T) {
			row, ok := readmeRows[r[0]]
			if !ok {
				t.Fatalf("the README names a workload %q this test does not know", r[0])
			}
			want := expectedRow(t, row, "exact", false)
			if got := r[1:]; !equalCells(got, want) {
				t.Errorf("the README's row for %s:\n got  %q\n want %q (from %s)", r[0], got, want, runsDir)
			}
		})
	}
}

// equalCells compares cells, ignoring Markdown bold.
func equalCells(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if strings.Trim(got[i], "*") != want[i] {
			return false
		}
	}
	return true
}
