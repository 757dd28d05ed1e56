package workload

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The fixtures below are systematic samples of the public traces in ../shared/traces, in their
// real formats (testdata/workload/README.md names each source); the expected facts were computed
// from the fixture files independently of this package.

func openFixture(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// tokenSums adds up the requests' input and output tokens.
func tokenSums(reqs []Request) (in, out int) {
	for _, r := range reqs {
		in, out = in+r.InputTokens, out+r.OutputTokens
	}
	return in, out
}

// TestAzureTraceSample reads every 200th row of the Azure code trace: count, span, token totals
// and the per-minute counts bucketed from the first arrival (as Counts does), empty minutes included.
func TestAzureTraceSample(t *testing.T) {
	reqs, err := ReadAzure(openFixture(t, "azure_code_every200.csv"), "azure sample")
	if err != nil {
		t.Fatal(err)
	}
	in, out := tokenSums(reqs)
	if len(reqs) != 45 || in != 98145 || out != 1221 {
		t.Errorf("%d requests, %d input and %d output tokens; want 45, 98145, 1221", len(reqs), in, out)
	}
	if span := reqs[len(reqs)-1].Arrival.Round(time.Millisecond); span != 3432649*time.Millisecond {
		t.Errorf("span %v, want 3432.649s", span)
	}
	want := []int{1, 0, 0, 2, 1, 1, 0, 0, 1, 2, 2, 0, 0, 0, 3, 2, 0, 0, 2, 2, 0, 1, 1, 2, 2, 0, 0, 1, 2,
		1, 1, 1, 0, 2, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 1}
	if diff := cmp.Diff(want, Counts(reqs, time.Minute)); diff != "" {
		t.Errorf("per-minute counts (-want +got):\n%s", diff)
	}
}

// TestMooncakeTraceSamples reads samples of both Mooncake traces: count, last arrival (the
// timestamps are milliseconds) and token totals.
func TestMooncakeTraceSamples(t *testing.T) {
	tests := []struct {
		file    string
		n       int
		last    time.Duration
		in, out int
	}{
		{"mooncake_conversation_every300.jsonl", 41, 3530999 * time.Millisecond, 352143, 13145},
		{"mooncake_synthetic_every100.jsonl", 40, 999541 * time.Millisecond, 704714, 5063},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			reqs, err := ReadMooncake(openFixture(t, tc.file), tc.file)
			if err != nil {
				t.Fatal(err)
			}
			last := time.Duration(0)
			for _, r := range reqs {
				last = max(last, r.Arrival)
			}
			in, out := tokenSums(reqs)
			if len(reqs) != tc.n || last != tc.last || in != tc.in || out != tc.out {
				t.Errorf("%d requests, last at %v, %d/%d tokens; want %d, %v, %d/%d",
					len(reqs), last, in, out, tc.n, tc.last, tc.in, tc.out)
			}
		})
	}
}

// TestServeGenTraceSample reads four m-small clients over 36 windows (days 10-11, 792,000 s on)
// that include five of m-small's collection gaps, where every client's rate is 0.
func TestServeGenTraceSample(t *testing.T) {
	sg, err := ReadServeGen(os.DirFS(filepath.Join(fixtures, "servegen-m-small")), ".")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range sg.Clients {
		ids = append(ids, c.ID)
	}
	if diff := cmp.Diff([]string{"5", "14", "17", "38"}, ids); diff != "" {
		t.Errorf("client ids (-want +got):\n%s", diff)
	}
	agg := sg.Aggregate()
	sum, most, zeros := 0.0, 0.0, 0
	for _, v := range agg.Values {
		sum, most = sum+v, max(most, v)
		if v == 0 {
			zeros++
		}
	}
	if len(agg.Values) != 36 || agg.Step != 600*time.Second || agg.Start != 792000*time.Second {
		t.Errorf("%d windows of %v from %v; want 36 of 10m0s from 220h0m0s", len(agg.Values), agg.Step, agg.Start)
	}
	if mean := sum / float64(len(agg.Values)); math.Abs(mean-960.681) > 0.001 || math.Abs(most-1730.807) > 0.001 || zeros != 5 {
		t.Errorf("aggregate mean %.3f, max %.3f req/s, %d zero windows; want 960.681, 1730.807, 5", mean, most, zeros)
	}
}
