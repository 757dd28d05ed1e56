package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/policies"
)

// historyProm is a hand-written Prometheus query_range endpoint for the start-up backfill: every
// latency-bucket query (the attainment signals) answers the fraction attained, or 503 when
// failBuckets is set; every other query answers 10. It records the range of each bucket query.
type historyProm struct {
	attained    float64
	failBuckets bool

	mu     sync.Mutex
	starts []float64 // start of each bucket query, Unix seconds
}

func (f *historyProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	q := r.Form.Get("query")
	start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
	end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
	step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
	v := 10.0
	if strings.Contains(q, "_bucket") {
		f.mu.Lock()
		f.starts = append(f.starts, start)
		f.mu.Unlock()
		if f.failBuckets {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "upstream down")
			return
		}
		v = f.attained
	}
	var values [][]any
	for ts := start; ts <= end+1e-9; ts += step {
		values = append(values, []any{ts, strconv.FormatFloat(v, 'g', -1, 64)})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix",
		"result": []map[string]any{{"metric": json.RawMessage(`{}`), "values": values}}}})
}

// TestHistoryReadsTheObjectiveWindowsAttainment: the start-up backfill reads the load over the
// forecast history and the TTFT and ITL attainment over the objective window only, one point
// per interval ending one interval before now; a failed attainment read leaves the load history
// whole and without error (the replay then has nothing to replay).
func TestHistoryReadsTheObjectiveWindowsAttainment(t *testing.T) {
	tests := []struct {
		name        string
		failBuckets bool
		wantPoints  int // of each attainment series
	}{
		{"attainment read", false, 6*60 + 1},
		{"attainment read fails", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &historyProm{attained: 0.97, failBuckets: tc.failBuckets}
			srv := httptest.NewServer(f)
			defer srv.Close()
			p, err := policies.Parse([]byte(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: h}
spec:
  target: {namespace: llm, deployment: d, topology: disaggregated}
  services:
    - {name: Prefill, role: prefill, minReplicas: 1, maxReplicas: 4, gpusPerReplica: 1}
    - {name: Decode, role: decode, minReplicas: 1, maxReplicas: 4, gpusPerReplica: 1}
  slo: {ttft: {target: 300ms}, itl: {target: 25ms}, objectiveWindow: 6h}
  metrics: {model: m, prometheus: {url: `+srv.URL+`}}
  planning: {interval: 60s, forecast: {history: 24h}}
`), "h.yaml")
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
			h, err := history{adapter: metrics.New(metrics.Options{})}.History(t.Context(), p, now)
			if err != nil {
				t.Fatalf("History: %v", err)
			}
			if got, want := len(h.RequestRate), 24*60; got != want {
				t.Errorf("%d load points, want %d (24 h at 60 s, ending a minute before now)", got, want)
			}
			for name, s := range map[string][]float64{"ttft": h.TTFTAttained, "itl": h.ITLAttained} {
				if len(s) != tc.wantPoints {
					t.Errorf("%s attainment: %d points, want %d", name, len(s), tc.wantPoints)
					continue
				}
				for i, v := range s {
					if math.Abs(v-0.97) > 1e-12 {
						t.Fatalf("%s attainment[%d] = %g, want 0.97", name, i, v)
					}
				}
			}
			wantStart := float64(now.Add(-time.Minute - 6*time.Hour).Unix())
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.starts) == 0 {
				t.Fatal("no attainment query")
			}
			for _, s := range f.starts {
				if s != wantStart {
					t.Errorf("an attainment query starts at %s, want %s (the objective window before the last point)",
						time.Unix(int64(s), 0).UTC(), time.Unix(int64(wantStart), 0).UTC())
				}
			}
		})
	}
}
