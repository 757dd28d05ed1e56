package closedloop

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tidal-planner/tidal/policies"
)

var update = flag.Bool("update", false, "rewrite testdata/closedloop/*/decisions.golden (read the diff first)")

// scenarioRoot is testdata/closedloop at the repository root.
var scenarioRoot = filepath.Join("..", "..", "..", "testdata", "closedloop")

// scenario is one directory's parsed files.
type scenarioFiles struct {
	dir    string
	policy policies.Policy
	script Script
	expect Expectations
}

func loadScenario(t *testing.T, dir string) scenarioFiles {
	t.Helper()
	read := func(name string) ([]byte, string) {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b, path
	}
	var sf scenarioFiles
	var err error
	sf.dir = dir
	b, path := read("policy.yaml")
	if sf.policy, err = policies.Parse(b, path); err != nil {
		t.Fatal(err)
	}
	b, path = read("script.txt")
	if sf.script, err = ParseScript(b, path); err != nil {
		t.Fatal(err)
	}
	b, path = read("expect.txt")
	if sf.expect, err = ParseExpectations(b, path, sf.policy); err != nil {
		t.Fatal(err)
	}
	return sf
}

func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join(scenarioRoot, "*", "expect.txt"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no scenarios under %s: %v", scenarioRoot, err)
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			sf := loadScenario(t, dir)
			run, err := Simulate(sf.policy, sf.script)
			if err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join(dir, "decisions.golden"), run.Render(filepath.Base(dir)))
			checkExpectations(t, sf.expect, run)
		})
	}
}

// compareGolden compares the transcript with its golden file, rewriting it under -update.
func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the golden transcript (create it deliberately with -update): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("the transcript differs from %s (-want +got); if the change is intended, read it and rerun with -update:\n%s", path, diff)
	}
}

// checkExpectations fails on every broken statement and on every pending one that holds, and
// logs what the pending ones showed.
func checkExpectations(t *testing.T, x Expectations, run Run) {
	t.Helper()
	if err := x.CheckAll(run); err != nil {
		t.Error(err)
	}
	for _, p := range x.PendingReport(run) {
		t.Log(p)
	}
}
