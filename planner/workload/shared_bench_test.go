package workload

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sharedTraces is ../shared/traces relative to the repository root (this package is two levels
// down), read in place, never copied. Only benchmarks read it: the tests use the samples in
// testdata/workload.
var sharedTraces = filepath.Join("..", "..", "..", "shared", "traces")

// BenchmarkReadSharedTraces times reading each real trace and fails if it no longer shows the facts
// ../shared/traces/README.md states (skipped when ../shared is absent, as on a fresh clone).
func BenchmarkReadSharedTraces(b *testing.B) {
	if _, err := os.Stat(sharedTraces); err != nil {
		b.Skipf("shared traces not found at %s: %v", sharedTraces, err)
	}
	b.Run("azure", func(b *testing.B) {
		reqs := readShared(b, "azure_llm_2023/AzureLLMInferenceTrace_code.csv", ReadAzure)
		// The README's "13 of 58 minutes are empty" counts wall-clock-aligned minutes; bucketed from
		// the first arrival, as Counts does, 12 are empty and the busiest holds the README's 632.
		counts := Counts(reqs, time.Minute)
		empty, most := 0, 0
		for _, c := range counts {
			empty, most = empty+boolInt(c == 0), max(most, c)
		}
		span := reqs[len(reqs)-1].Arrival.Round(time.Second)
		if len(reqs) != 8819 || span != 3436*time.Second || len(counts) != 58 || empty != 12 || most != 632 {
			b.Errorf("%d requests over %v, %d minutes, %d empty, max %d; want 8819, 3436s, 58, 12, 632",
				len(reqs), span, len(counts), empty, most)
		}
	})
	for _, tc := range []struct {
		file string
		n    int
		span time.Duration
	}{
		{"conversation_trace.jsonl", 12031, 3537 * time.Second},
		{"synthetic_trace.jsonl", 3993, 1022 * time.Second},
	} {
		b.Run(tc.file, func(b *testing.B) {
			reqs := readShared(b, "mooncake_fast25/"+tc.file, ReadMooncake)
			last := time.Duration(0)
			for _, r := range reqs {
				last = max(last, r.Arrival)
			}
			if len(reqs) != tc.n || last.Round(time.Second) != tc.span {
				b.Errorf("%d requests over %v; README says %d over %v", len(reqs), last, tc.n, tc.span)
			}
		})
	}
	for _, tc := range []struct {
		model   string
		clients int
		mean    float64
		zeros   int
	}{
		{"m-large", 162, 196, 0},
		{"m-small", 43, 1174, 37},
	} {
		b.Run(tc.model, func(b *testing.B) { benchServeGen(b, tc.model, tc.clients, tc.mean, tc.zeros) })
	}
}

// readShared reads one shared per-request trace once per iteration and returns the requests.
func readShared(b *testing.B, rel string, read func(io.Reader, string) ([]Request, error)) []Request {
	b.Helper()
	var reqs []Request
	for b.Loop() {
		f, err := os.Open(filepath.Join(sharedTraces, rel))
		if err != nil {
			b.Fatal(err)
		}
		reqs, err = read(f, rel)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	return reqs
}

// benchServeGen reads one ServeGen model's folder and checks the README's client count, 2,016
// windows of 600 s, aggregate mean and zero windows.
func benchServeGen(b *testing.B, model string, clients int, mean float64, zeros int) {
	dir := filepath.Join(sharedTraces, "servegen", "data", "language", model)
	var sg *ServeGen
	for b.Loop() {
		var err error
		if sg, err = ReadServeGen(os.DirFS(dir), "."); err != nil {
			b.Fatal(err)
		}
	}
	agg := sg.Aggregate()
	sum, z := 0.0, 0
	for _, v := range agg.Values {
		sum, z = sum+v, z+boolInt(v == 0)
	}
	got := sum / float64(len(agg.Values))
	if len(sg.Clients) != clients || len(agg.Values) != 2016 || agg.Step != 600*time.Second ||
		math.Abs(got-mean) > 0.5 || z != zeros {
		b.Errorf("%d clients, %d windows of %v, mean %.1f, %d zero; README says %d, 2016 of 600s, %v, %d",
			len(sg.Clients), len(agg.Values), agg.Step, got, z, clients, mean, zeros)
	}
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}
