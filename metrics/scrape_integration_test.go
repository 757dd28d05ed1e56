package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/metrics/promtest"
)

// TestScrapeIntervalAgainstPrometheus measures the scrape interval of a real Prometheus that
// scrapes the exporter every 2 s, over a 6 s range, polled from Prometheus's start: an error while
// the series are younger than the range (never a longer interval), then 2 s; and an error naming
// the missing samples for a selector that matches nothing.
func TestScrapeIntervalAgainstPrometheus(t *testing.T) {
	exp := promtest.NewExporterT(t)
	exp.Set(steady())
	prom := promtest.StartT(t, promtest.Config{Targets: []string{exp.Addr()}, Interval: 2 * time.Second})
	a := metrics.New(metrics.Options{ScrapeRange: 6 * time.Second})
	tests := []struct {
		name      string
		namespace string
		want      time.Duration // 0: an error containing wantErr
		wantErr   string
	}{
		{name: "the exporter's frontend", namespace: "llm-llama", want: 2 * time.Second},
		{name: "a selector that matches nothing", namespace: "llm-none",
			wantErr: "0 samples in 6s of the request counter's series older than that (need 2)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := testPolicy(t, prom.URL(), "llama", tc.namespace, testWindow, "")
			eventually(t, "scrape interval measured", func() string {
				d, err := a.ScrapeInterval(context.Background(), p, time.Time{})
				switch {
				case tc.want == 0:
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("got %v, %v; want an error containing %q", d, err, tc.wantErr)
					}
				case err != nil:
					return err.Error() // the series are younger than the range: keep polling
				// the range can hold one sample more than it has intervals: 6 s / 4 = 1.5 s; a
				// series younger than the range would read longer than 2 s
				case d < 1500*time.Millisecond || d > tc.want:
					t.Fatalf("got %v, want 1.5-2 s (or an error while the series are younger than the range)", d)
				default:
					t.Logf("measured %v", d)
				}
				return ""
			})
		})
	}
}
