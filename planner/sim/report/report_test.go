package report

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidal-planner/tidal/planner/sim"
)

func entries() []Entry {
	series := sim.Series{Step: time.Minute, Time: []float64{60, 120, 180},
		RequestRate: []float64{1, 2, 3}, PrefillLoad: []float64{10, 20, 30}, PrefillCapacity: []float64{40, 40, 40},
		DecodeLoad: []float64{1, 2, 3}, DecodeCapacity: []float64{5, 5, 5}, GPUs: []float64{2, 2, 2},
		TTFT:     sim.PercentileSeries{P50: []float64{0.05, math.NaN(), 0.06}, P90: []float64{0.1, math.NaN(), 0.1}, P99: []float64{0.2, math.NaN(), 0.3}},
		ITL:      sim.PercentileSeries{P50: []float64{0.005, 0.006, 0.007}, P90: []float64{0.008, 0.009, 0.01}, P99: []float64{0.01, 0.02, 0.03}},
		Services: []sim.ServiceSeries{{Name: "VllmPrefillWorker", Desired: []float64{1, 2, 2}, Ready: []float64{1, 1, 2}}}}
	return []Entry{
		{Planner: "tidal", Result: sim.Result{Requests: 100, Met: 99, Attainment: 0.99, GPUHours: 1.5, ScaleEvents: 3,
			TTFT: sim.Percentiles{P50: 0.05, P90: 0.1, P99: 0.25}, ITL: sim.Percentiles{P50: 0.005, P90: 0.008, P99: 0.02}, Series: series}},
		{Planner: "oracle", Result: sim.Result{Requests: 100, Met: 100, Attainment: 1, GPUHours: 1.2, Series: series}, Note: "knows the future"},
	}
}

func TestJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := JSON(&buf, Workload{Name: "w", Requests: 100}, entries()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Workload map[string]any   `json:"workload"`
		Results  []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, buf.String())
	}
	if doc.Workload["name"] != "w" || len(doc.Results) != 2 {
		t.Fatalf("workload %v, %d results", doc.Workload, len(doc.Results))
	}
	r := doc.Results[0]
	for _, key := range []string{"planner", "gpu_hours", "slo_attainment", "ttft_ms", "itl_ms", "requests", "scale_events"} {
		if _, ok := r[key]; !ok {
			t.Errorf("result lacks %q: %v", key, r)
		}
	}
	want := map[string]any{"p50": 50.0, "p90": 100.0, "p99": 250.0}
	if diff := cmp.Diff(want, r["ttft_ms"]); diff != "" {
		t.Errorf("ttft_ms (-want +got):\n%s", diff)
	}
}

func TestTableListsEveryPlanner(t *testing.T) {
	var buf bytes.Buffer
	if err := Table(&buf, Workload{Name: "w", Format: "synthetic", Rejected: 4}, entries()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"tidal", "99.00%", "oracle", "100.00%", "4 rejected", "oracle: knows the future"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestHTMLWritesPageAndPlots(t *testing.T) {
	dir := t.TempDir()
	risk := []RiskSeries{{Service: "VllmPrefillWorker", Time: []float64{60, 120, 180}, Quantile: []float64{0.95, 0.97, 0.9}}}
	if err := HTML(dir, Workload{Name: "w", TTFTms: 300, ITLms: 25}, entries(), risk); err != nil {
		t.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"load-prefill.svg", "load-decode.svg", "replicas-vllmprefillworker.svg", "ttft-tidal.svg", "itl-oracle.svg", "risk.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("missing %s: %v", f, err)
			continue
		}
		if !bytes.Contains(b, []byte("<svg")) {
			t.Errorf("%s is not an SVG", f)
		}
		if !bytes.Contains(index, []byte(`src="`+f+`"`)) {
			t.Errorf("index.html does not show %s", f)
		}
	}
}

func TestLogTicks(t *testing.T) {
	var got []string
	for _, tk := range (logTicks{}).Ticks(30, 600) {
		got = append(got, tk.Label)
	}
	if diff := cmp.Diff([]string{"50", "100", "200", "500"}, got); diff != "" {
		t.Errorf("ticks (-want +got):\n%s", diff)
	}
	if ts := (logTicks{}).Ticks(0, 10); ts != nil {
		t.Errorf("a non-positive range gave ticks %v", ts)
	}
}
