package policies_test

import (
	"strings"
	"testing"

	"github.com/tidal-planner/tidal/policies"
)

func TestClip(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{name: "fits", in: "qwen", n: 16, want: "qwen"},
		{name: "exactly the limit", in: strings.Repeat("a", 16), n: 16, want: strings.Repeat("a", 16)},
		{name: "cut with the count", in: strings.Repeat("a", 20), n: 16, want: strings.Repeat("a", 16) + "...(4 more bytes)"},
		{name: "cut on a rune boundary", in: strings.Repeat("a", 15) + "é" + "b", n: 16, want: strings.Repeat("a", 15) + "...(3 more bytes)"},
		{name: "tiny limit raised to 16", in: strings.Repeat("b", 17), n: 1, want: strings.Repeat("b", 16) + "...(1 more bytes)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := policies.ClipTo(tc.in, tc.n); got != tc.want {
				t.Errorf("ClipTo(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
	huge := strings.Repeat("x", 3<<20)
	if got := policies.Clip(huge); len(got) > policies.MaxEcho+32 {
		t.Errorf("Clip of a 3 MiB string is %d bytes", len(got))
	}
}
