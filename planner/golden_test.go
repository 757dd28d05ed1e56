package planner

import (
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/planner/*/decisions.golden")

// goldenDir is testdata/planner at the repository root.
var goldenDir = filepath.Join("..", "testdata", "planner")

func TestGoldenScenarios(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(goldenDir, "*", "policy.yaml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no scenarios under %s: %v", goldenDir, err)
	}
	for _, pf := range dirs {
		dir := filepath.Dir(pf)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := runScenario(t, dir)
			path := filepath.Join(dir, "decisions.golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("decisions differ from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// runScenario plans every row of a scenario against a simulated cluster and renders the result.
func runScenario(t *testing.T, dir string) string {
	y, err := os.ReadFile(filepath.Join(dir, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := mustPolicy(t, string(y))
	rows := readRows(t, filepath.Join(dir, "observations.csv"))
	st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0.1)})
	initial, startup := map[string]int32{}, map[string]time.Duration{}
	for i := range p.NumServices() {
		s := p.ServiceAt(i)
		initial[s.Name], startup[s.Name] = s.MinReplicas, s.StartupTime
	}
	w := newWorld(initial)
	var b strings.Builder
	for _, row := range rows {
		now := t0.Add(time.Duration(row.minute) * time.Minute)
		obs := row.observations(now)
		w.observe(&obs, now)
		if !row.replicasKnown {
			for i := range obs.Services {
				obs.Services[i].ReplicasKnown = false
			}
		}
		d := Plan(now, obs, p, &st)
		w.apply(d, now, startup)
		render(&b, row.minute, d)
	}
	return b.String()
}

func render(b *strings.Builder, minute int, d Decision) {
	fmt.Fprintf(b, "t+%02dm gpus=%d shortfall=%d\n", minute, d.GPUs, d.ShortfallGPUs)
	for _, s := range d.Services {
		fmt.Fprintf(b, "  %s %d -> %d (ready %d, need %.2f, held %v)\n", s.Name, s.Current, s.Desired, s.Ready, s.Need, s.Held)
		for _, r := range s.Reasons {
			fmt.Fprintf(b, "    %s\n", r.Detail())
		}
	}
}

// scenarioRow is one parsed CSV row; NaN marks a missing value.
type scenarioRow struct {
	minute                                 int
	rate, isl, osl, ttftP, itlP, queue, cv Value
	replicasKnown                          bool
}

func (r scenarioRow) observations(now time.Time) Observations {
	o := Observations{Time: now, Window: time.Minute, RequestRate: r.rate, InputTokens: r.isl,
		OutputTokens: r.osl, TTFTPercentile: r.ttftP, ITLPercentile: r.itlP, QueueDepth: r.queue,
		ArrivalCV: r.cv, TTFT: Unknown("not in scenario"), ITL: Unknown("not in scenario"),
		KVUsage: Unknown("not in scenario"), Inflight: Unknown("not in scenario")}
	for _, name := range []string{"Frontend", "Prefill", "Decode", "Worker"} {
		o.Services = append(o.Services, ServiceObservation{Name: name, ReplicasKnown: true})
	}
	return o
}

func readRows(t *testing.T, path string) []scenarioRow {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var rows []scenarioRow
	for i, rec := range recs[1:] {
		if len(rec) != 9 {
			t.Fatalf("%s row %d: %d fields, want 9", path, i+2, len(rec))
		}
		m, err := strconv.Atoi(rec[0])
		if err != nil {
			t.Fatalf("%s row %d: minute: %v", path, i+2, err)
		}
		v := make([]Value, 7)
		for k := range v {
			v[k] = cell(t, rec[k+1])
		}
		rows = append(rows, scenarioRow{m, v[0], v[1], v[2], v[3], v[4], v[5], v[6], rec[8] == "ok"})
	}
	return rows
}

func cell(t *testing.T, s string) Value {
	if s == "-" {
		return Unknown("query returned no data")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("bad cell %q: %v", s, err)
	}
	return Known(f)
}
