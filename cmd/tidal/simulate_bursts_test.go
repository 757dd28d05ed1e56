package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidal-planner/tidal/planner/sim/scenario"
	"github.com/tidal-planner/tidal/planner/sim/synth"
)

func TestBurstFlagsApply(t *testing.T) {
	type bursts struct {
		N      int
		Factor float64
		Length time.Duration
	}
	unset := burstFlags{perDay: -1}
	tests := []struct {
		name     string
		flags    burstFlags
		duration time.Duration
		want     bursts
		wantName string
	}{
		{"unset keeps the scenario's", unset, 24 * time.Hour, bursts{4, 1.6, 10 * time.Minute}, ""},
		{"unset keeps the scenario's count over three days", unset, 72 * time.Hour, bursts{4, 1.6, 10 * time.Minute}, ""},
		{"a count per day", burstFlags{perDay: 12}, 24 * time.Hour, bursts{12, 1.6, 10 * time.Minute}, " with 12 bursts of 1.6x for 10m0s"},
		{"a count per day over three days", burstFlags{perDay: 4}, 72 * time.Hour, bursts{12, 1.6, 10 * time.Minute}, " with 12 bursts of 1.6x for 10m0s"},
		{"rounded over six hours", burstFlags{perDay: 6}, 6 * time.Hour, bursts{2, 1.6, 10 * time.Minute}, " with 2 bursts of 1.6x for 10m0s"},
		{"none", burstFlags{perDay: 0}, 24 * time.Hour, bursts{0, 1.6, 10 * time.Minute}, " without bursts"},
		{"taller and shorter", burstFlags{perDay: -1, factor: 3, length: 2 * time.Minute}, 24 * time.Hour, bursts{4, 3, 2 * time.Minute}, " with 4 bursts of 3x for 2m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scenario.Day(1)
			s.Duration = tt.duration
			if err := tt.flags.apply(&s); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, bursts{s.Bursts, s.BurstFactor, s.BurstLength}); diff != "" {
				t.Errorf("bursts (-want +got):\n%s", diff)
			}
			if got := tt.flags.describe(s); got != tt.wantName {
				t.Errorf("describe = %q, want %q", got, tt.wantName)
			}
		})
	}
}

func TestBurstFlagsNeedTheDiurnalDay(t *testing.T) {
	s := scenario.Day(1)
	s.Shape = synth.Step
	if err := (burstFlags{perDay: 2}).apply(&s); err == nil || !strings.Contains(err.Error(), "--shape step") {
		t.Errorf("apply on a step: err %v, want one naming --shape step", err)
	}
	if err := (burstFlags{perDay: -1}).apply(&s); err != nil {
		t.Errorf("unset flags on a step: %v", err)
	}
}

func TestSimulateBurstFlagsRejected(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"negative count", []string{"--bursts", "-2"}, "--bursts -2: want bursts per 24 hours >= 0"},
		{"negative factor", []string{"--burst-factor", "-1"}, "--burst-factor -1: want a rate multiplier > 0"},
		{"negative length", []string{"--burst-length", "-5m"}, "--burst-length -5m0s: want a duration > 0"},
		{"another shape", []string{"--shape", "spike", "--bursts", "3"}, "not --shape spike"},
		{"a trace", []string{"--format", "azure", "--workload", "x.csv", "--bursts", "3"}, "not --format azure"},
		{"longer than the run", []string{"--duration", "1h", "--burst-length", "2h"}, "must exceed the burst length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runSimulate(context.Background(), append(tt.args, "--compare", "", "--quiet"), &stdout, &stderr)
			if code != 1 {
				t.Errorf("exit %d, want 1 (stderr %q)", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

// TestBurstFlagsShapeTheWorkload checks the flags reach the generated arrivals: two hours at 3
// req/s with twenty 3x bursts of five minutes carry more requests than the same hours without.
func TestBurstFlagsShapeTheWorkload(t *testing.T) {
	count := func(b burstFlags) int {
		t.Helper()
		f := simulateFlags{format: "synthetic", shape: "diurnal", rate: 3, rateScale: 1, duration: 2 * time.Hour, seed: 1, bursts: b}
		wl, _, err := syntheticWorkload(f)
		if err != nil {
			t.Fatal(err)
		}
		return len(wl.Requests)
	}
	none, many := count(burstFlags{perDay: 0}), count(burstFlags{perDay: 240, factor: 3, length: 5 * time.Minute})
	if !(float64(many) > 1.3*float64(none)) {
		t.Errorf("with twenty 3x bursts %d requests, without %d: want at least 1.3x", many, none)
	}
}
