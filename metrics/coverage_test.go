package metrics

import (
	"strings"
	"testing"
	"time"
)

// TestUncovered checks the coverage rules on the parts of windowCoverage, for a 10 s window
// scraped every second (11 samples, newest at most 1 s old when healthy).
func TestUncovered(t *testing.T) {
	const w = 10 * time.Second
	tests := []struct {
		name string
		g    *group
		want string // prefix of the reason; "" = covered
	}{
		{"healthy", &group{gap: 0.9, samples: 11, hasGap: true, hasSamples: true, hasResets: true}, ""},
		{"a scrape half an interval late", &group{gap: 1.5, samples: 11, hasGap: true, hasSamples: true}, ""},
		{"a missed scrape: strict, rate() reads up to 15% low with it at the end", &group{gap: 2.1, samples: 10, hasGap: true, hasSamples: true}, ReasonCoverage + ": no new sample"},
		{"no coverage series", nil, ReasonCoverage + ": 0 samples"},
		{"one sample", &group{gap: 0.5, samples: 1, hasGap: true, hasSamples: true}, ReasonCoverage + ": 1 samples"},
		{"reset", &group{gap: 0.5, samples: 11, resets: 1, hasGap: true, hasSamples: true, hasResets: true}, ReasonReset},
		{"series absent at a step", &group{gap: 1.7e9, samples: 6, hasGap: true, hasSamples: true}, ReasonCoverage + ": the request counter had no live series"},
		{"gap part missing", &group{samples: 6, hasSamples: true}, ReasonCoverage + ": the request counter had no live series"},
		{"3 s without a new sample", &group{gap: 3, samples: 8, hasGap: true, hasSamples: true}, ReasonCoverage + ": no new sample"},
	}
	t.Run("healthy at a 30 s scrape over 1 m (2 samples)", func(t *testing.T) {
		if got := (&group{gap: 29, samples: 2, hasGap: true, hasSamples: true}).uncovered(time.Minute); got != "" {
			t.Errorf("uncovered = %q, want covered", got)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.g.uncovered(w)
			if tt.want == "" && got != "" || tt.want != "" && !strings.HasPrefix(got, tt.want) {
				t.Errorf("uncovered = %q, want prefix %q", got, tt.want)
			}
		})
	}
}
