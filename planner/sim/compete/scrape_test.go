package compete

import (
	"strings"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/sim/scenario"
	"github.com/tidal-planner/tidal/planner/sim/synth"
)

// TestTidalFitsItsWindowToTheScrapeInterval runs six hours of the built-in day with Prometheus
// scraping every minute (its own default). The embedded policy's 1m window then holds one sample:
// run as written, tidal holds every decision for missing rates; fitted to the scrape interval
// (a 4m window), it decides, and its entry's note says what was widened. At the 15 s scrape the
// policy was written for, nothing is fitted.
func TestTidalFitsItsWindowToTheScrapeInterval(t *testing.T) {
	s := defaultSetup(t)
	day := scenario.Day(1)
	day.Duration = 6 * time.Hour
	wl, err := synth.Synthetic(day)
	if err != nil {
		t.Fatal(err)
	}
	s.Workload = wl
	tests := []struct {
		name      string
		scrape    time.Duration
		fitted    bool
		wantHeld  func(held, decisions int) bool
		wantNote  string
		heldWords string
	}{
		{name: "1m scrape, as written: holds every decision", scrape: time.Minute, fitted: false,
			wantHeld: func(h, n int) bool { return h == n }, heldWords: "every decision"},
		{name: "1m scrape, fitted: decides", scrape: time.Minute, fitted: true,
			wantHeld: func(h, n int) bool { return h <= n/100 }, heldWords: "at most 1% of decisions",
			wantNote: "spec.metrics.window 1m0s widened to 4m0s"},
		{name: "15 s scrape: nothing to fit", scrape: 15 * time.Second, fitted: true,
			wantHeld: func(h, n int) bool { return h <= n/100 }, heldWords: "at most 1% of decisions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := s
			s.Options.ScrapeInterval = tc.scrape
			p, note := tidalPolicy(s)
			if !tc.fitted {
				p, note = s.Policy, ""
			}
			if !strings.Contains(note, tc.wantNote) || (tc.wantNote == "") != (note == "") {
				t.Errorf("note %q, want one containing %q", note, tc.wantNote)
			}
			tid := NewTidal(p, &s.Profile, s.History)
			if _, err := runAutoscaler(s, s.Deployment, NameTidal, tid, nil); err != nil {
				t.Fatal(err)
			}
			t.Logf("held %d of %d decisions", tid.Held, tid.Decisions)
			if tid.Decisions == 0 || !tc.wantHeld(tid.Held, tid.Decisions) {
				t.Errorf("held %d of %d decisions, want %s", tid.Held, tid.Decisions, tc.heldWords)
			}
		})
	}
}

// TestHPAWindowFollowsTheScrapeInterval checks the rate range the HPA's queries take: one
// minute (the operator's query) up to a 15 s scrape, four scrapes beyond.
func TestHPAWindowFollowsTheScrapeInterval(t *testing.T) {
	tests := []struct {
		scrape, want time.Duration
	}{
		{0, time.Minute}, {15 * time.Second, time.Minute}, {30 * time.Second, 2 * time.Minute},
		{time.Minute, 4 * time.Minute},
	}
	for _, tc := range tests {
		s := Setup{Options: sim.Options{ScrapeInterval: tc.scrape}}
		if got := (&HPA{Window: hpaWindow(s)}).Cadence().Window; got != tc.want {
			t.Errorf("scrape %v: HPA window %v, want %v", tc.scrape, got, tc.want)
		}
	}
}
