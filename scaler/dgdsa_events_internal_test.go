package scaler

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScaleNote(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes
	tests := []struct {
		name    string
		reasons []string
		want    string
		maxLen  int
	}{
		{"no reasons", nil, "scaled W from 1 to 2", 0},
		{"reasons joined", []string{"size/sized: 1 -> 3", "clamp/max-replicas: 3 -> 2"},
			"scaled W from 1 to 2: size/sized: 1 -> 3; clamp/max-replicas: 3 -> 2", 0},
		{"cut to the note limit on a rune boundary", []string{long}, "", maxNote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scaleNote("scaled", "W", 1, 2, tt.reasons)
			if tt.maxLen > 0 {
				if len(got) > tt.maxLen || !utf8.ValidString(got) || !strings.HasSuffix(got, "...") {
					t.Errorf("note of %d bytes (valid UTF-8: %v) not cut to %d with a marker", len(got), utf8.ValidString(got), tt.maxLen)
				}
				return
			}
			if got != tt.want {
				t.Errorf("scaleNote = %q, want %q", got, tt.want)
			}
		})
	}
}
