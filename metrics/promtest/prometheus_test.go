package promtest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestStartFailsClearly checks Start returns an error at once, never hangs, when Prometheus is
// missing or dies at start-up.
func TestStartFailsClearly(t *testing.T) {
	tests := []struct {
		name    string
		binary  string
		wantErr error
		wantMsg string
	}{
		{"missing binary", "/nonexistent/prometheus", ErrNotInstalled, "not installed"},
		{"exits at once", "/bin/false", nil, "exited before becoming ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Start(context.Background(), Config{Binary: tt.binary})
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Start error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Start error = %q, want it to say %q", err, tt.wantMsg)
			}
		})
	}
}

// TestExporterServesDynamoNames starts the exporter alone and checks a scrape carries the
// Dynamo metric names with the deployment's labels.
func TestExporterServesDynamoNames(t *testing.T) {
	e := NewExporterT(t)
	e.Set(Deployment{Model: "m", Namespace: "ns", RequestRate: 10, TTFT: Uniform{Lo: 0.1, Hi: 0.2},
		Frontends: []Frontend{{Queued: 1}}, Workers: []Worker{{ID: "w", Type: "decode", KVUsage: 0.5}}})
	body := scrape(t, "http://"+e.Addr()+"/metrics")
	for _, want := range []string{
		`dynamo_frontend_requests_total{dynamo_namespace="ns",model="m",status="success"}`,
		`dynamo_frontend_time_to_first_token_seconds_bucket{dynamo_namespace="ns",model="m",le="0.2"}`,
		`dynamo_frontend_queued_requests{dynamo_namespace="ns",model="m",pod="frontend-0"} 1`,
		`dynamo_component_gpu_cache_usage_percent{dp_rank="0",dynamo_namespace="ns",model="m",worker_id="w",worker_type="decode"} 0.5`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

// scrape fetches a URL's body.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
