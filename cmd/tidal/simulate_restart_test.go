package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRestartAtFlag checks --restart-at's parsing: ascending positive durations, and an error
// that names the bad part and says what is expected.
func TestRestartAtFlag(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    durationList
		wantErr string
	}{
		{"one", "12h", durationList{12 * time.Hour}, ""},
		{"two, with spaces", "6h, 18h30m", durationList{6 * time.Hour, 18*time.Hour + 30*time.Minute}, ""},
		{"not a duration", "noon", nil, `"noon": want durations such as 12h`},
		{"at the start", "0s", nil, "must come after the workload's start"},
		{"descending", "18h,6h", nil, "ascending order"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var l durationList
			err := l.Set(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Set(%q) = %v, want an error containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Set(%q): %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, l); diff != "" {
				t.Errorf("Set(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestSimulateRestart runs a short simulation with a restart, with and without the replay, and
// checks the report names it; without --restart-at the report says nothing of restarts.
func TestSimulateRestart(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"replayed", []string{"--restart-at", "20m"}, "tidal restarted at 20m0s (error budget replayed)"},
		{"not replayed", []string{"--restart-at", "20m", "--restart-no-replay"}, "tidal restarted at 20m0s (error budget not replayed)"},
		{"none", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb strings.Builder
			args := append([]string{"--shape", "step", "--rate", "4", "--duration", "40m", "--compare", "", "--quiet"}, tc.args...)
			if code := runSimulate(t.Context(), args, &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			got := strings.Contains(out.String(), "tidal restarted")
			if tc.want == "" && got || tc.want != "" && !strings.Contains(out.String(), tc.want) {
				t.Errorf("output does not say %q:\n%s", tc.want, out.String())
			}
		})
	}
}
