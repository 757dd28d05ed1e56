package planner_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// scriptedScrape answers ScrapeInterval from a script, one answer per call (the last repeats),
// and counts the calls.
type scriptedScrape struct {
	mu     sync.Mutex
	script []scrapeAnswer
	calls  int
}

type scrapeAnswer struct {
	d   time.Duration
	err error
}

func (s *scriptedScrape) ScrapeInterval(ctx context.Context, p policies.Policy, now time.Time) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.script[min(s.calls, len(s.script)-1)]
	s.calls++
	return a.d, a.err
}

func (s *scriptedScrape) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// TestLoopFitsTheWindowToTheScrapeInterval checks that every tick runs the policy fitted to the
// scrape interval the ScrapeReader measured: the window as written until one is measured, four
// scrapes once the measured interval asks for more, measured at every tick until known and then
// once an hour, and each change logged once.
func TestLoopFitsTheWindowToTheScrapeInterval(t *testing.T) {
	noFrontend := scrapeAnswer{err: errors.New("0 samples of the request counter")}
	type tick struct {
		after  time.Duration // clock step before the tick (the first tick: none)
		window time.Duration // the window the tick's policy carries
		calls  int           // ScrapeInterval calls so far
	}
	tests := []struct {
		name    string
		script  []scrapeAnswer
		ticks   []tick
		wantLog []string // substrings, each expected exactly once
	}{
		{name: "Prometheus's default 1m scrape: four minutes",
			script: []scrapeAnswer{{d: time.Minute}},
			ticks: []tick{{0, 4 * time.Minute, 1}, {15 * time.Second, 4 * time.Minute, 1},
				{15 * time.Second, 4 * time.Minute, 1}},
			wantLog: []string{"measured how often Prometheus scrapes the frontend", "spec.metrics.window 1m0s widened to 4m0s"}},
		{name: "15 s: the window as written, measured once",
			script:  []scrapeAnswer{{d: 15 * time.Second}},
			ticks:   []tick{{0, time.Minute, 1}, {15 * time.Second, time.Minute, 1}, {15 * time.Second, time.Minute, 1}},
			wantLog: []string{"measured how often Prometheus scrapes the frontend"}},
		{name: "no frontend yet: the window as written, measured every tick until known",
			script: []scrapeAnswer{noFrontend, noFrontend, {d: 30 * time.Second}},
			ticks: []tick{{0, time.Minute, 1}, {15 * time.Second, time.Minute, 2},
				{15 * time.Second, 2 * time.Minute, 3}, {15 * time.Second, 2 * time.Minute, 3}},
			wantLog: []string{"could not measure how often Prometheus scrapes the frontend", "widened to 2m0s"}},
		{name: "measured again after an hour",
			script: []scrapeAnswer{{d: time.Minute}, {d: 15 * time.Second}},
			ticks: []tick{{0, 4 * time.Minute, 1}, {time.Hour - 15*time.Second, 4 * time.Minute, 1},
				{15 * time.Second, time.Minute, 2}},
			wantLog: []string{"widened to 4m0s", "the policy's metrics window covers enough scrapes"}},
		{name: "a failure after a measurement keeps it",
			script:  []scrapeAnswer{{d: time.Minute}, noFrontend},
			ticks:   []tick{{0, 4 * time.Minute, 1}, {time.Hour, 4 * time.Minute, 2}, {15 * time.Second, 4 * time.Minute, 2}},
			wantLog: []string{"widened to 4m0s", "could not measure"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, inBubble(func(t *testing.T) {
			var buf syncBuffer
			sr := &scriptedScrape{script: tc.script}
			h := newHarness(t, func(c *planner.LoopConfig) {
				c.Scrape = sr
				c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
			})
			h.cluster.desired["p"] = 1
			h.update(t, loopPolicy(t, "p", "apply", 15*time.Second, 1))
			var got, want []tick
			for i, tk := range tc.ticks {
				if i > 0 {
					h.waitTimers(t, 1)
					h.clock.Step(tk.after)
				}
				tt := h.ticks.next(t)
				got = append(got, tick{tk.after, tt.Policy.Metrics.Window, sr.count()})
				want = append(want, tk)
			}
			h.stop()
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(tick{})); diff != "" {
				t.Errorf("ticks (-want +got):\n%s", diff)
			}
			for _, s := range tc.wantLog {
				if n := strings.Count(buf.String(), s); n != 1 {
					t.Errorf("log holds %q %d times, want once:\n%s", s, n, buf.String())
				}
			}
		}))
	}
}
