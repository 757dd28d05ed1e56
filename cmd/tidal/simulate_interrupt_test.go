package main

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/planner/sim/compete"
	"github.com/tidal-planner/tidal/planner/sim/report"
)

// TestRunContendersReturnsOnInterrupt checks that an interrupt (the context ending) returns at
// once with the context's error while a run is still going, instead of waiting for it; and that
// without one every run's entry comes back in the contenders' order. The runs here block until
// the test releases them after runContenders returned, so waiting for them would deadlock the
// bubble, which synctest reports as a failure.
func TestRunContendersReturnsOnInterrupt(t *testing.T) {
	tests := []struct {
		name      string
		interrupt bool
		wantErr   error
		want      []string // entries' planners, in order
	}{
		{name: "interrupted while the runs go on", interrupt: true, wantErr: context.Canceled},
		{name: "every run finishes", want: []string{"a", "b", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				release := make(chan struct{})
				var cs []compete.Contender
				for _, name := range []string{"a", "b", "c"} {
					cs = append(cs, compete.Contender{Name: name, Run: func(func(float64)) (report.Entry, error) {
						if tc.interrupt {
							<-release // an uninterruptible run, as a hindsight search is
						}
						return report.Entry{Planner: name}, nil
					}})
				}
				if tc.interrupt {
					go func() {
						synctest.Wait() // every run started and blocked
						cancel()
					}()
				}
				entries, err := runContenders(ctx, cs, func(int, float64) {})
				close(release)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				var got []string
				for _, e := range entries {
					got = append(got, e.Planner)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("entries' planners (-want +got):\n%s", diff)
				}
				synctest.Wait() // the abandoned runs end once released
			})
		})
	}
}
