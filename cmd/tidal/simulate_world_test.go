package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidal-planner/tidal/planner/sim/scenario"
	"github.com/tidal-planner/tidal/policies"
)

// TestSimulateWorldFlagsRejected: a policy whose performanceModel names a profile the simulator
// cannot read, and bad world flags, fail before the run with an error naming the file or flag
// (never a silent fallback to the embedded profile).
func TestSimulateWorldFlagsRejected(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-profile")
	pol := strings.Replace(string(scenario.PolicyYAML()), "\nspec:\n", "\nspec:\n  performanceModel:\n    profile: "+missing+"\n", 1)
	polFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(polFile, []byte(pol), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string // substrings of stderr
	}{
		{"policy names an unreadable profile", []string{"--policy", polFile}, []string{"performanceModel.profile", missing}},
		{"zero decode speed", []string{"--world-decode-speed", "0"}, []string{"--world-decode-speed 0"}},
		{"negative prefill speed", []string{"--world-prefill-speed", "-0.8"}, []string{"--world-prefill-speed -0.8"}},
		{"unreadable world profile", []string{"--world-profile", missing}, []string{"--world-profile", missing}},
		{"speedup on a synthetic workload", []string{"--speedup", "2"}, []string{"--speedup", "synthetic"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runSimulate(context.Background(), append([]string{"--quiet", "--duration", "1h"}, tt.args...), &stdout, &stderr)
			if code == 0 {
				t.Fatalf("exit 0, want an error; stdout:\n%s", stdout.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not name %q", stderr.String(), w)
				}
			}
			if stdout.Len() > 0 {
				t.Errorf("a run started: %s", stdout.String())
			}
		})
	}
}

// TestSimulateProfileHonoured: the planners read --profile, else the policy's
// performanceModel.profile, else the embedded profile.
func TestSimulateProfileHonoured(t *testing.T) {
	inRepo := filepath.Join("..", "..", "planner", "sim", "scenario", "h200-llama-3.1-8b")
	pol, err := scenario.Policy()
	if err != nil {
		t.Fatal(err)
	}
	named := pol
	named.PerformanceModel.Profile = inRepo
	tests := []struct {
		name, flag string
		pol        func() policies.Policy
		want       string
	}{
		{"embedded when neither names one", "", func() policies.Policy { return pol }, scenario.ProfileName},
		{"the policy's performanceModel.profile", "", func() policies.Policy { return named }, inRepo},
		{"--profile over the policy's", inRepo + string(filepath.Separator), func() policies.Policy { return named }, inRepo + string(filepath.Separator)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := loadSimProfile(tt.flag, tt.pol())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(p.Source, tt.want) {
				t.Errorf("profile source %q, want it read from %q", p.Source, tt.want)
			}
		})
	}
}
