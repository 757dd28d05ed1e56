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
// scrapes the exporter every 2 s, over a 10 s range, polled from Prometheus's start: an error
// while the series are younger than the range (never a much longer interval), then 2 s within a
// sample; and an error naming the missing samples for a selector that matches nothing.
func TestScrapeIntervalAgainstPrometheus(t *testing.T) {
	exp := promtest.NewExporterT(t)
	exp.Set(steady())
	prom := promtest.StartT(t, promtest.Config{Targets: []string{exp.Addr()}, Interval: 2 * time.Second})
	a := metrics.New(metrics.Options{ScrapeRange: 10 * time.Second})
	tests := []struct {
		name      string
		namespace string
		want      time.Duration // 0: an error containing wantErr
		wantErr   string
	}{
		{name: "the exporter's frontend", namespace: "llm-llama", want: 2 * time.Second},
		{name: "a selector that matches nothing", namespace: "llm-none",
			wantErr: "0 samples in 10s of the request counter's series older than that (need 2)"},
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
				// The range's five intervals hold four to six samples: one more where a sample
				// falls on its start, one fewer where the newest scrape is not yet ingested or
				// one was late (the race detector slows the machine): 10 s / 6 to 10 s / 4. A
				// series younger than the range reads 5 s or longer (two samples or fewer).
				case d < 1666*time.Millisecond || d > 2500*time.Millisecond:
					t.Fatalf("got %v, want 1.67-2.5 s (or an error while the series are younger than the range)", d)
				default:
					t.Logf("measured %v", d)
				}
				return ""
			})
		})
	}
}
