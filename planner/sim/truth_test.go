package sim

import (
	"math"
	"testing"
)

// TestTruthSpeeds: a world 20% slower in prefill and decode takes 1/0.8 as long per pass and per
// iteration, a faster one 1/1.2, and the planners' profile is untouched; bad speeds are errors.
func TestTruthSpeeds(t *testing.T) {
	p := sharedProfile(t)
	exact := NewModel(p)
	tests := []struct {
		name     string
		truth    Truth
		pre, dec float64 // wanted time multipliers
		wantErr  bool
	}{
		{"exact (zero value)", Truth{}, 1, 1, false},
		{"20% slower", Truth{PrefillSpeed: 0.8, DecodeSpeed: 0.8}, 1 / 0.8, 1 / 0.8, false},
		{"20% faster", Truth{PrefillSpeed: 1.2, DecodeSpeed: 1.2}, 1 / 1.2, 1 / 1.2, false},
		{"decode only half speed", Truth{DecodeSpeed: 0.5}, 1, 2, false},
		{"negative", Truth{PrefillSpeed: -1}, 0, 0, true},
		{"infinite", Truth{DecodeSpeed: math.Inf(1)}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.truth.Model(p)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Model: err %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := m.PrefillSeconds(3000) / exact.PrefillSeconds(3000); math.Abs(got-tt.pre) > 1e-12 {
				t.Errorf("prefill time x%.4f, want x%.4f", got, tt.pre)
			}
			if got := m.IterationSeconds(100, 3000) / exact.IterationSeconds(100, 3000); math.Abs(got-tt.dec) > 1e-12 {
				t.Errorf("decode iteration time x%.4f, want x%.4f", got, tt.dec)
			}
			if m.PrefillThroughput(3000) != exact.PrefillThroughput(3000) || m.ProfileDecodeThroughput(0.5, 3000) != exact.ProfileDecodeThroughput(0.5, 3000) {
				t.Error("the profile's own columns changed with the world's speed")
			}
			if tt.truth.Exact() != (tt.pre == 1 && tt.dec == 1) {
				t.Errorf("Exact() = %v", tt.truth.Exact())
			}
		})
	}
}

// TestTruthProfile: a world running another profile builds its engines from it while the
// planners keep theirs.
func TestTruthProfile(t *testing.T) {
	planners := sharedProfile(t)
	other := sharedProfile(t)
	other.Source = "another profile"
	m, err := Truth{Profile: &other, DecodeSpeed: 0.5}.Model(planners)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Profile().Source; got != "another profile" {
		t.Errorf("engines built from %q, want the truth's profile", got)
	}
	if want := "another profile (decode x0.5 speed)"; m.String() != want {
		t.Errorf("world described as %q, want %q", m.String(), want)
	}
	if planners.Source == other.Source || (Truth{Profile: &other}).Exact() {
		t.Error("a world on another profile reads as exact")
	}
}
