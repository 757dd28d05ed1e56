package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimulateSmallSyntheticRun(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "out.json")
	args := []string{"--format", "synthetic", "--shape", "step", "--rate", "3", "--duration", "20m",
		"--compare", "dynamo,oracle", "--json", jsonPath, "--report", filepath.Join(dir, "report")}
	var stdout, stderr bytes.Buffer
	if code := runSimulate(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"synthetic-step", "tidal", "dynamo", "oracle", "GPU-hours"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []struct {
			Planner  string  `json:"planner"`
			Requests int     `json:"requests"`
			GPUHours float64 `json:"gpu_hours"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("bad JSON: %v", err)
	}
	if len(doc.Results) != 3 || doc.Results[0].Planner != "tidal" || doc.Results[0].Requests == 0 || doc.Results[2].GPUHours <= 0 {
		t.Errorf("results %+v", doc.Results)
	}
	if _, err := os.Stat(filepath.Join(dir, "report", "index.html")); err != nil {
		t.Errorf("no HTML report: %v", err)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr is not a terminal, yet got %q", stderr.String())
	}
}

func TestSimulateUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"--help"}, 0, "tidal simulate --workload"},
		{"unknown flag", []string{"--nope"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"trace.csv"}, 2, "unexpected arguments"},
		{"unknown format", []string{"--format", "parquet"}, 1, "unknown --format"},
		{"unknown planner", []string{"--compare", "keda"}, 1, "unknown planner"},
		{"servegen needs tokens", []string{"--format", "servegen", "--workload", "."}, 1, "--tokens-from"},
		{"missing trace", []string{"--format", "azure", "--workload", "/nonexistent.csv"}, 1, "reading the workload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runSimulate(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr.String())
			}
			if out := stdout.String() + stderr.String(); !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

// TestSimulateAzureTraceWithDefaults: --workload FILE --format azure alone works, with the
// embedded policy and profile. The trace is testdata/sim/azure-format-sample.csv: 600 made-up
// requests (Poisson, 2 req/s) in the Azure LLM inference trace's CSV format, so the test needs no
// ../shared.
func TestSimulateAzureTraceWithDefaults(t *testing.T) {
	trace := filepath.Join("..", "..", "testdata", "sim", "azure-format-sample.csv")
	var stdout, stderr bytes.Buffer
	code := runSimulate(context.Background(), []string{"--workload", trace, "--format", "azure", "--compare", "static,dynamo"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"600 requests", "tidal", "static", "dynamo"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestSimulateIsReproducible: the same flags give byte-identical JSON, planners running
// concurrently or not.
func TestSimulateIsReproducible(t *testing.T) {
	run := func() string {
		var stdout, stderr bytes.Buffer
		args := []string{"--shape", "spike", "--rate", "4", "--duration", "30m", "--seed", "7", "--compare", "hpa,dynamo,oracle", "--json", "-"}
		if code := runSimulate(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		return stdout.String()
	}
	if a, b := run(), run(); a != b {
		t.Errorf("two runs differ:\n%s\n---\n%s", a, b)
	}
}

// TestSimulateRejectsBadFlags: bad values fail before anything runs, naming the flag.
func TestSimulateRejectsBadFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"negative rate", []string{"--rate", "-1"}, "--rate -1"},
		{"zero rate scale", []string{"--rate-scale", "0"}, "--rate-scale 0"},
		{"negative rate scale", []string{"--rate-scale", "-2"}, "--rate-scale -2"},
		{"static goal above 1", []string{"--static-goal", "1.5"}, "--static-goal 1.5"},
		{"negative static goal", []string{"--static-goal", "-0.5"}, "--static-goal -0.5"},
		{"negative duration", []string{"--duration", "-1h"}, "--duration -1h0m0s"},
		{"negative start", []string{"--start", "-5m"}, "--start -5m0s"},
		{"zero scrape interval", []string{"--scrape-interval", "0s"}, "--scrape-interval 0s"},
		{"negative history", []string{"--history", "-2h"}, "--history -2h0m0s"},
		{"zero max context", []string{"--max-context", "0"}, "--max-context 0"},
		{"zero seeds", []string{"--seeds", "0"}, "--seeds 0"},
		{"too many seeds", []string{"--seeds", "1000"}, "--seeds 1000"},
		{"json in a missing directory", []string{"--json", filepath.Join(dir, "nope", "out.json")}, "--json " + filepath.Join(dir, "nope", "out.json")},
		{"json is a directory", []string{"--json", dir}, "--json " + dir + ": is a directory"},
		{"report under a file", []string{"--report", filepath.Join(file, "report")}, "--report " + filepath.Join(file, "report")},
		{"decisions in a missing directory", []string{"--decisions", filepath.Join(dir, "nope", "d.csv")}, "--decisions"},
		{"world speed zero", []string{"--world-decode-speed", "0"}, "--world-decode-speed 0"},
		{"no replay without a restart", []string{"--restart-no-replay"}, "--restart-no-replay true: want --restart-at too"},
		{"two bad flags, both named", []string{"--rate", "-1", "--seeds", "-3"}, "--seeds -3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runSimulate(context.Background(), append(tt.args, "--quiet"), &stdout, &stderr)
			if code != 1 {
				t.Errorf("exit %d, want 1 (stderr %q)", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("something ran: stdout %q", stdout.String())
			}
		})
	}
}

// TestSimulateSeedsAndDecisions: --seeds runs each seed and reports the spread; --decisions writes
// one CSV row per tidal decision and service with its reasons; the JSON carries the books.
func TestSimulateSeedsAndDecisions(t *testing.T) {
	dir := t.TempDir()
	csvPath, jsonPath := filepath.Join(dir, "d.csv"), filepath.Join(dir, "r.json")
	args := []string{"--shape", "step", "--rate", "3", "--duration", "20m", "--compare", "hpa", "--seeds", "2",
		"--decisions", csvPath, "--json", jsonPath, "--quiet"}
	var stdout, stderr bytes.Buffer
	if code := runSimulate(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "2 seeds ([1 2])") || !strings.Contains(stdout.String(), "misses by cause") {
		t.Errorf("table lacks the seeds line or the books:\n%s", stdout.String())
	}
	b, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	// 20 minutes at the built-in policy's 60 s interval: 20 decisions x 2 services, plus the header.
	if len(lines) != 41 || !strings.HasPrefix(lines[0], "time,service,role,current,ready,desired") || !strings.Contains(lines[1], "size/") {
		t.Errorf("decisions CSV: %d lines, header %q, first row %q", len(lines), lines[0], lines[1])
	}
	jb, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []struct {
			Planner  string `json:"planner"`
			Seeds    int    `json:"seeds"`
			PerSeed  []any  `json:"per_seed"`
			Services []struct {
				Name     string  `json:"name"`
				GPUHours float64 `json:"gpu_hours"`
			} `json:"services"`
			MissesByHour []any `json:"misses_by_hour"`
		} `json:"results"`
	}
	if err := json.Unmarshal(jb, &doc); err != nil {
		t.Fatal(err)
	}
	for _, r := range doc.Results {
		if r.Seeds != 2 || len(r.PerSeed) != 2 || len(r.Services) != 2 || r.Services[0].GPUHours <= 0 {
			t.Errorf("%s: seeds %d, per seed %d, services %+v", r.Planner, r.Seeds, len(r.PerSeed), r.Services)
		}
	}
}
