package metrics_test

import (
	"context"
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

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/policies"
)

// fakeRange is a hand-written Prometheus query_range endpoint. Each point's value is value(t)
// (NaN marks no sample); it rejects more than 11,000 points per series as Prometheus does, and
// answers 503 for ranges that contain failAt. Gauge queries (tidal_part) also get an age series.
type fakeRange struct {
	value  func(t time.Time) float64
	age    func(t time.Time) float64
	failAt time.Time

	mu       sync.Mutex
	requests int
}

func (f *fakeRange) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	f.mu.Unlock()
	_ = r.ParseForm()
	start, end, step := seconds(r.Form.Get("start")), seconds(r.Form.Get("end")), seconds(r.Form.Get("step"))
	if n := int((end-start)/step) + 1; n > metrics.MaxPointsPerQuery {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"}`)
		return
	}
	if !f.failAt.IsZero() && float64(f.failAt.Unix()) >= start && float64(f.failAt.Unix()) <= end {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "upstream down")
		return
	}
	series := []map[string]any{f.series(`{}`, f.value, start, end, step)}
	if f.age != nil && strings.Contains(r.Form.Get("query"), "tidal_part") {
		series = []map[string]any{f.series(`{"tidal_part":"value"}`, f.value, start, end, step), f.series(`{"tidal_part":"age"}`, f.age, start, end, step)}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": series}})
}

// series renders one matrix series of fn over the range.
func (f *fakeRange) series(metric string, fn func(time.Time) float64, start, end, step float64) map[string]any {
	var values [][]any
	for ts := start; ts <= end+1e-9; ts += step {
		v := fn(time.Unix(0, int64(math.Round(ts*1e9))))
		if math.IsNaN(v) {
			continue
		}
		values = append(values, []any{ts, strconv.FormatFloat(v, 'g', -1, 64)})
	}
	return map[string]any{"metric": json.RawMessage(metric), "values": values}
}

// seconds parses a Prometheus API time or step in seconds.
func seconds(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

func TestBackfill(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	sawtooth := func(ts time.Time) float64 { return float64(ts.Unix() % 997) }
	gap := func(ts time.Time) float64 {
		if d := ts.Sub(start); d >= 10*time.Second && d < 20*time.Second {
			return math.NaN()
		}
		return sawtooth(ts)
	}
	tests := []struct {
		name         string
		fake         *fakeRange
		signal       policies.Signal
		end          time.Time
		step         time.Duration
		wantRequests int
		wantErr      bool
		missing      func(i int) bool // which points must be NaN
	}{
		{"one chunk", &fakeRange{value: sawtooth}, policies.SignalRequestRate, start.Add(99 * time.Second), time.Second, 1, false, nil},
		{"three chunks stitched", &fakeRange{value: sawtooth}, policies.SignalRequestRate, start.Add(24_999 * time.Second), time.Second, 3, false, nil},
		{"gap in the data", &fakeRange{value: gap}, policies.SignalRequestRate, start.Add(59 * time.Second), time.Second, 1, false,
			func(i int) bool { return i >= 10 && i < 20 }},
		{"a failed chunk stays NaN", &fakeRange{value: sawtooth, failAt: start.Add(15_000 * time.Second)}, policies.SignalRequestRate,
			start.Add(24_999 * time.Second), time.Second, 3, true, func(i int) bool { return i >= 11_000 && i < 22_000 }},
		{"stale gauge points", &fakeRange{value: sawtooth, age: func(ts time.Time) float64 { return float64(ts.Sub(start) / time.Second) }},
			policies.SignalQueueDepth, start.Add(9 * time.Second), time.Second, 1, false, func(i int) bool { return i > int(testStaleAfter/time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.fake)
			defer srv.Close()
			p := testPolicy(t, srv.URL, "llama", "llm-llama", time.Minute, "")
			got, err := metrics.New(testOptions()).Backfill(context.Background(), p, tt.signal, start, tt.end, tt.step)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Backfill error = %v, want error %v", err, tt.wantErr)
			}
			want := metrics.Series{Start: start, Step: tt.step}
			for ts := start; !ts.After(tt.end); ts = ts.Add(tt.step) {
				v := tt.fake.value(ts)
				if tt.missing != nil && tt.missing(len(want.Values)) {
					v = math.NaN()
				}
				want.Values = append(want.Values, v)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("series (-want +got):\n%s", diff)
			}
			if tt.fake.requests != tt.wantRequests {
				t.Errorf("%d query_range requests, want %d", tt.fake.requests, tt.wantRequests)
			}
		})
	}
}

func TestBackfillRejectsBadArguments(t *testing.T) {
	p := testPolicy(t, "http://127.0.0.1:1", "llama", "llm-llama", time.Minute, "")
	start := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name string
		end  time.Time
		step time.Duration
	}{
		{"zero step", start.Add(time.Hour), 0},
		{"end before start", start.Add(-time.Second), time.Second},
		{"too many points", start.Add(365 * 24 * time.Hour), time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := metrics.New(metrics.Options{}).Backfill(context.Background(), p, policies.SignalRequestRate, start, tt.end, tt.step); err == nil {
				t.Error("Backfill succeeded, want an error")
			}
		})
	}
}
