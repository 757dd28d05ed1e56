package leader

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/client-go/tools/leaderelection/resourcelock"
	testingclock "k8s.io/utils/clock/testing"
)

// fakeLock is a Lease lock whose writes take `takes` on the fake clock and fail with err.
type fakeLock struct {
	resourcelock.Interface // nil: only Create, Update and Identity are called
	clock                  *testingclock.FakeClock
	takes                  time.Duration
	err                    error
}

func (f *fakeLock) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	return f.Update(ctx, ler)
}

func (f *fakeLock) Update(context.Context, resourcelock.LeaderElectionRecord) error {
	f.clock.Step(f.takes)
	return f.err
}

func (f *fakeLock) Identity() string { return "a" }

// step is one event of a validity scenario: a write of the Lease, a pause, or leadership lost.
type step struct {
	renew   string        // holder written ("" = no write); "-" writes an empty holder (release)
	fail    bool          // the write fails
	takes   time.Duration // how long the write takes
	pause   time.Duration // then the process is paused this long
	stopped bool          // client-go called OnStoppedLeading
}

func TestRemaining(t *testing.T) {
	tests := []struct {
		name    string
		leading bool
		steps   []step
		want    time.Duration
	}{
		{name: "never renewed", leading: true, want: 0},
		{name: "just renewed", leading: true, steps: []step{{renew: "a"}}, want: 10 * time.Second},
		{name: "renewed 4s ago", leading: true, steps: []step{{renew: "a", pause: 4 * time.Second}}, want: 6 * time.Second},
		{name: "counted from the request's start", leading: true, steps: []step{{renew: "a", takes: 3 * time.Second}}, want: 7 * time.Second},
		{name: "paused past the renew deadline", leading: true, steps: []step{{renew: "a", pause: 20 * time.Second}}, want: 0},
		{name: "paused exactly to the deadline", leading: true, steps: []step{{renew: "a", pause: 10 * time.Second}}, want: 0},
		{name: "failed renews do not extend", leading: true,
			steps: []step{{renew: "a", pause: 6 * time.Second}, {renew: "a", fail: true, pause: 2 * time.Second}}, want: 2 * time.Second},
		{name: "released", leading: true, steps: []step{{renew: "a"}, {renew: "-"}}, want: 0},
		{name: "lost", leading: true, steps: []step{{renew: "a", stopped: true}}, want: 0},
		{name: "not leading", leading: false, steps: []step{{renew: "a"}}, want: 0},
		{name: "a record naming another holder", leading: true, steps: []step{{renew: "a"}, {renew: "b"}}, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := testingclock.NewFakeClock(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
			e := &Elector{cfg: Config{Identity: "a", LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, Clock: clk},
				leading: tc.leading}
			fake := &fakeLock{clock: clk}
			lock := renewLock{Interface: fake, e: e}
			for _, s := range tc.steps {
				fake.takes, fake.err = s.takes, nil
				if s.fail {
					fake.err = errors.New("apiserver unreachable")
				}
				switch s.renew {
				case "":
				case "-":
					_ = lock.Update(t.Context(), resourcelock.LeaderElectionRecord{})
				default:
					_ = lock.Update(t.Context(), resourcelock.LeaderElectionRecord{HolderIdentity: s.renew})
				}
				clk.Step(s.pause)
				if s.stopped {
					e.stopped()
				}
			}
			if got := e.Remaining(); got != tc.want {
				t.Errorf("Remaining() = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestReleaseOnlyWhileValid: a release (a record with another holder) is sent while the lease is
// provably this candidate's (a clean shutdown hands over at once) and refused once it has expired
// (client-go also releases after a failed renewal, possibly over a successor's record).
func TestReleaseOnlyWhileValid(t *testing.T) {
	tests := []struct {
		name      string
		pause     time.Duration
		wantSent  bool
		wantError bool
	}{
		{name: "clean shutdown", pause: time.Second, wantSent: true},
		{name: "paused past the lease", pause: 20 * time.Second, wantError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := testingclock.NewFakeClock(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
			e := &Elector{cfg: Config{Identity: "a", LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, Clock: clk},
				leading: true}
			fake := &countingLock{fakeLock: fakeLock{clock: clk}}
			lock := renewLock{Interface: fake, e: e}
			_ = lock.Update(t.Context(), resourcelock.LeaderElectionRecord{HolderIdentity: "a"})
			clk.Step(tc.pause)
			err := lock.Update(t.Context(), resourcelock.LeaderElectionRecord{})
			if sent := fake.updates == 2; sent != tc.wantSent || (err != nil) != tc.wantError {
				t.Errorf("release sent %v, err %v; want sent %v, error %v", sent, err, tc.wantSent, tc.wantError)
			}
			if e.Remaining() != 0 {
				t.Errorf("Remaining() = %s after a release, want 0", e.Remaining())
			}
		})
	}
}

// countingLock counts the writes it receives.
type countingLock struct {
	fakeLock
	updates int
}

func (c *countingLock) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	c.updates++
	return c.fakeLock.Update(ctx, ler)
}
