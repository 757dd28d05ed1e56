package policies

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFitScrape checks the window a measured scrape interval gives a policy: widened to four
// scrapes (whole seconds) when it spans fewer, never shortened, and the scale-down and objective
// windows kept longer than it.
func TestFitScrape(t *testing.T) {
	type windows struct{ Window, ScaleDown, Objective, Scrape time.Duration }
	tests := []struct {
		name     string
		yaml     string // appended to minimal, whose last block is spec.slo
		scrape   time.Duration
		want     windows
		wantNote string // a substring; "" for no note
	}{
		{name: "not measured", scrape: 0,
			want: windows{time.Minute, 5 * time.Minute, 24 * time.Hour, 0}},
		{name: "15 s: the default window is four scrapes", scrape: 15 * time.Second,
			want: windows{time.Minute, 5 * time.Minute, 24 * time.Hour, 15 * time.Second}},
		{name: "30 s: widened to 2m", scrape: 30 * time.Second,
			want:     windows{2 * time.Minute, 5 * time.Minute, 24 * time.Hour, 30 * time.Second},
			wantNote: "spec.metrics.window 1m0s widened to 2m0s: Prometheus scrapes the frontend every 30s"},
		{name: "Prometheus's default 1m: widened to 4m", scrape: time.Minute,
			want:     windows{4 * time.Minute, 5 * time.Minute, 24 * time.Hour, time.Minute},
			wantNote: "widened to 4m0s"},
		{name: "an odd interval rounds up to whole seconds", scrape: 20300 * time.Millisecond,
			want:     windows{82 * time.Second, 5 * time.Minute, 24 * time.Hour, 20300 * time.Millisecond},
			wantNote: "widened to 1m22s"},
		{name: "2m: the scale-down window follows", scrape: 2 * time.Minute,
			want:     windows{8 * time.Minute, 9 * time.Minute, 24 * time.Hour, 2 * time.Minute},
			wantNote: "spec.stability.scaleDownWindow 5m0s widened to 9m0s"},
		{name: "a longer window of the policy's own is kept", scrape: time.Minute,
			yaml: "  metrics:\n    window: 10m\n  stability:\n    scaleDownWindow: 15m\n",
			want: windows{10 * time.Minute, 15 * time.Minute, 24 * time.Hour, time.Minute}},
		{name: "a short objective window follows", scrape: time.Minute,
			yaml:     "    objectiveWindow: 3m\n",
			want:     windows{4 * time.Minute, 5 * time.Minute, 8 * time.Minute, time.Minute},
			wantNote: "spec.slo.objectiveWindow 3m0s widened to 8m0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(minimal+tc.yaml), "f.yaml")
			if err != nil {
				t.Fatal(err)
			}
			got, note := p.FitScrape(tc.scrape)
			gw := windows{got.Metrics.Window, got.Stability.ScaleDownWindow, got.SLO.ObjectiveWindow, got.Metrics.ScrapeInterval}
			if diff := cmp.Diff(tc.want, gw); diff != "" {
				t.Errorf("windows (-want +got):\n%s", diff)
			}
			if (tc.wantNote == "") != (note == "") || !strings.Contains(note, tc.wantNote) {
				t.Errorf("note = %q, want one containing %q", note, tc.wantNote)
			}
			if p.Metrics.Window != time.Minute && tc.yaml == "" {
				t.Errorf("FitScrape changed the policy it was called on: window %s", p.Metrics.Window)
			}
		})
	}
}
