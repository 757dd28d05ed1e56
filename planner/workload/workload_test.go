package workload

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const fixtures = "../../testdata/workload"

func open(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestReadAzureFixture(t *testing.T) {
	got, err := ReadAzure(open(t, "azure_small.csv"), "azure_small.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []Request{
		{Arrival: 0, InputTokens: 4808, OutputTokens: 10},
		{Arrival: 52 * time.Millisecond, InputTokens: 3180, OutputTokens: 8},
		{Arrival: 61520040 * time.Microsecond, InputTokens: 100, OutputTokens: 1},
		{Arrival: 180 * time.Second, InputTokens: 7, OutputTokens: 250},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadAzure (-want +got):\n%s", diff)
	}
}

func TestReadMooncakeFixture(t *testing.T) {
	got, err := ReadMooncake(open(t, "mooncake_small.jsonl"), "m.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := []Request{
		{Arrival: 0, InputTokens: 6758, OutputTokens: 500},
		{Arrival: 2500 * time.Millisecond, InputTokens: 7322, OutputTokens: 490},
		{Arrival: 61 * time.Second, InputTokens: 10, OutputTokens: 5},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadMooncake (-want +got):\n%s", diff)
	}
}

func TestMalformedRowsNameTheLine(t *testing.T) {
	tests := []struct {
		name string
		read func() error
		want string
	}{
		{"azure bad timestamp", func() error {
			_, err := ReadAzure(strings.NewReader("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.1,1,1\nyesterday,1,1\n"), "a.csv")
			return err
		}, "a.csv:3: TIMESTAMP"},
		{"azure negative tokens", func() error {
			_, err := ReadAzure(strings.NewReader("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.1,-1,1\n"), "a.csv")
			return err
		}, "a.csv:2: token counts"},
		{"azure wrong header", func() error {
			_, err := ReadAzure(strings.NewReader("time,in,out\n"), "a.csv")
			return err
		}, "a.csv:1: header"},
		{"mooncake bad json", func() error {
			_, err := ReadMooncake(strings.NewReader("{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1}\n{oops\n"), "m.jsonl")
			return err
		}, "m.jsonl:2:"},
		{"mooncake missing field", func() error {
			_, err := ReadMooncake(strings.NewReader("{\"timestamp\": 1, \"input_length\": 1}\n"), "m.jsonl")
			return err
		}, "m.jsonl:1: missing"},
		{"servegen short row", func() error {
			_, err := ReadServeGenClient(strings.NewReader("0,1,1,Gamma,1,1\n600,1\n"), "chunk-1-trace.csv")
			return err
		}, "chunk-1-trace.csv:2: 2 fields"},
		{"servegen bad rate", func() error {
			_, err := ReadServeGenClient(strings.NewReader("0,x,1,Gamma,1,1\n"), "c.csv")
			return err
		}, "c.csv:1: field 2"},
		{"series off grid", func() error {
			_, err := ReadSeries(strings.NewReader("timestamp,value\n0,1\n60,1\n100,1\n130,2\n"), "s.csv")
			return err
		}, "s.csv:4: timestamp 100 is off"},
		{"series not increasing", func() error {
			_, err := ReadSeries(strings.NewReader("timestamp,value\n0,1\n0,1\n"), "s.csv")
			return err
		}, "s.csv:3: timestamp 0 does not increase"},
		{"series bad value", func() error {
			_, err := ReadSeries(strings.NewReader("timestamp,value\n0,one\n"), "s.csv")
			return err
		}, "s.csv:2: value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.read()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestReadServeGenFixture(t *testing.T) {
	sg, err := ReadServeGen(os.DirFS(fixtures), "servegen")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range sg.Clients {
		ids = append(ids, c.ID)
	}
	if diff := cmp.Diff([]string{"0", "2", "10"}, ids); diff != "" {
		t.Errorf("client IDs (-want +got):\n%s", diff)
	}
	wantFirst := Window{Start: 1200 * time.Second, Rate: 2.25, CV: 1.2, Pattern: "Weibull", Shape: 0.8, Scale: 0.5}
	if diff := cmp.Diff(wantFirst, sg.Clients[0].Windows[2]); diff != "" {
		t.Errorf("client 0 window 2 (-want +got):\n%s", diff)
	}
	want := Series{Step: 600 * time.Second, Values: []float64{3, 2, 6}}
	if diff := cmp.Diff(want, sg.Aggregate()); diff != "" {
		t.Errorf("Aggregate (-want +got):\n%s", diff)
	}
}

func TestAggregateMarksUnreportedWindowsMissing(t *testing.T) {
	fsys := fstest.MapFS{
		"d/chunk-1-trace.csv": {Data: []byte("0,1,1,Gamma,1,1\n1800,2,1,Gamma,1,1\n")},
		"d/chunk-2-trace.csv": {Data: []byte("0,1,1,Gamma,1,1\n600,0,0,,0,0\n")},
	}
	sg, err := ReadServeGen(fsys, "d")
	if err != nil {
		t.Fatal(err)
	}
	want := Series{Step: 600 * time.Second, Values: []float64{2, 0, math.NaN(), 2}}
	if diff := cmp.Diff(want, sg.Aggregate(), cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("Aggregate (-want +got):\n%s", diff)
	}
	if _, err := ReadServeGen(fsys, "empty"); err == nil {
		t.Error("ReadServeGen of a directory without chunk files: no error")
	}
}

func TestReadSeriesFillsSkippedSteps(t *testing.T) {
	got, err := ReadSeries(open(t, "series_small.csv"), "series_small.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := Series{Step: time.Minute, Values: []float64{1.5, 2, math.NaN(), math.NaN(), 4}}
	if diff := cmp.Diff(want, got, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("ReadSeries (-want +got):\n%s", diff)
	}
}

func TestRate(t *testing.T) {
	reqs := []Request{{Arrival: 0}, {Arrival: 59 * time.Second}, {Arrival: 60 * time.Second}, {Arrival: 179 * time.Second}, {Arrival: -time.Second}}
	got, err := Rate(reqs, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	want := Series{Step: time.Minute, Values: []float64{2.0 / 60, 1.0 / 60, 1.0 / 60}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Rate (-want +got):\n%s", diff)
	}
	if _, err := Rate(reqs, 0); err == nil {
		t.Error("Rate with a zero interval: no error")
	}
	if got := Counts(nil, time.Minute); got != nil {
		t.Errorf("Counts(nil) = %v, want nil", got)
	}
}
