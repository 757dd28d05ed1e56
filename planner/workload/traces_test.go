package workload

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sharedTraces is ../shared/traces relative to the repository root (this package is two levels
// down). The traces are read in place, never copied.
var sharedTraces = filepath.Join("..", "..", "..", "shared", "traces")

func openTrace(t *testing.T, rel string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedTraces, rel))
	if err != nil {
		t.Skipf("shared trace %s not available (%v): skipping", rel, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestAzureTraceFacts checks the facts ../shared/traces/README.md states about the Azure code trace.
func TestAzureTraceFacts(t *testing.T) {
	reqs, err := ReadAzure(openTrace(t, "azure_llm_2023/AzureLLMInferenceTrace_code.csv"), "azure code")
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 8819 {
		t.Errorf("%d requests, README says 8,819", len(reqs))
	}
	span := reqs[len(reqs)-1].Arrival
	if span.Round(time.Second) != 3436*time.Second {
		t.Errorf("span %v, README says 3,436 s", span)
	}
	counts := Counts(reqs, time.Minute)
	empty, most := 0, 0
	for _, c := range counts {
		if c == 0 {
			empty++
		}
		most = max(most, c)
	}
	// The README's "13 of 58 minutes are empty" counts wall-clock-aligned minutes (whose busiest
	// minute holds 585); bucketed from the first arrival, as Counts does, 12 are empty and the
	// busiest holds the README's 632.
	if len(counts) != 58 || empty != 12 || most != 632 {
		t.Errorf("per-minute counts: %d minutes, %d empty, max %d; want 58, 12, 632", len(counts), empty, most)
	}
}

// TestMooncakeTraceFacts checks the README's request counts and spans for both Mooncake traces.
func TestMooncakeTraceFacts(t *testing.T) {
	tests := []struct {
		file string
		n    int
		span time.Duration
	}{
		{"conversation_trace.jsonl", 12031, 3537 * time.Second},
		{"synthetic_trace.jsonl", 3993, 1022 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			reqs, err := ReadMooncake(openTrace(t, "mooncake_fast25/"+tc.file), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			last := time.Duration(0)
			for _, r := range reqs {
				last = max(last, r.Arrival)
			}
			if len(reqs) != tc.n || last.Round(time.Second) != tc.span {
				t.Errorf("%d requests over %v; README says %d over %v", len(reqs), last, tc.n, tc.span)
			}
		})
	}
}

// TestServeGenTraceFacts checks client counts, length, aggregate means and m-small's 37 zero windows.
func TestServeGenTraceFacts(t *testing.T) {
	tests := []struct {
		model   string
		clients int
		mean    float64
		zeros   int
	}{
		{"m-large", 162, 196, 0},
		{"m-small", 43, 1174, 37},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			dir := filepath.Join(sharedTraces, "servegen", "data", "language", tc.model)
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("shared trace %s not available (%v): skipping", dir, err)
			}
			sg, err := ReadServeGen(os.DirFS(dir), ".")
			if err != nil {
				t.Fatal(err)
			}
			agg := sg.Aggregate()
			sum, zeros := 0.0, 0
			for _, v := range agg.Values {
				sum += v
				if v == 0 {
					zeros++
				}
			}
			mean := sum / float64(len(agg.Values))
			if len(sg.Clients) != tc.clients || len(agg.Values) != 2016 || agg.Step != 600*time.Second {
				t.Errorf("%d clients, %d windows of %v; README says %d clients, 2,016 windows of 600 s", len(sg.Clients), len(agg.Values), agg.Step, tc.clients)
			}
			if math.Abs(mean-tc.mean) > 0.5 || zeros != tc.zeros {
				t.Errorf("aggregate mean %.1f req/s with %d zero windows; README says %v and %d", mean, zeros, tc.mean, tc.zeros)
			}
		})
	}
}
