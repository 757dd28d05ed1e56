package leader

import (
	"context"
	"errors"
	"time"

	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Remaining returns how long this candidate's lease is still provably its own: the time left
// until RenewDeadline after the start of its last successful acquire or renew, measured on the
// injected clock; 0 when it does not lead, has not renewed, or that time has passed.
//
// Why that bound: another candidate takes over only after it has seen the same Lease record
// unchanged for LeaseDuration, counted from when it read the record, which is after this
// candidate sent the renew. The start of the renew request + LeaseDuration is therefore a time
// before which nobody else can hold the Lease; RenewDeadline keeps LeaseDuration - RenewDeadline
// of it (5 s with the defaults) as the safety margin for the write request still in flight and
// for clock-rate differences. A process paused (SIGSTOP, a long GC or a frozen VM) and resumed
// after that finds 0 here before it writes, whatever client-go's leading flag still says: the flag
// is cleared only when client-go notices the failed renews, up to RenewDeadline later.
//
// Writers call Remaining right before each write and bound the write's deadline by it (see
// scaler.ActuatorConfig.Lease). Safe for concurrent use.
func (e *Elector) Remaining() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leading || e.renewedAt.IsZero() {
		return 0
	}
	left := e.renewedAt.Add(e.cfg.RenewDeadline).Sub(e.cfg.Clock.Now())
	return max(left, 0)
}

// renewed records a successful acquire or renew by this candidate, started at start.
func (e *Elector) renewed(start time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if start.After(e.renewedAt) {
		e.renewedAt = start
	}
}

// forget drops the renew time: the lease was released or lost.
func (e *Elector) forget() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.renewedAt = time.Time{}
}

// errReleaseExpired refuses a release by a candidate whose lease is no longer provably its own.
var errReleaseExpired = errors.New("not releasing the Lease: this candidate's lease has expired, another may hold it")

// renewLock is client-go's Lease lock with every successful write of a record naming this
// candidate timed: the time taken just before the request is sent is the lease's start.
type renewLock struct {
	resourcelock.Interface
	e *Elector
}

// Create implements resourcelock.Interface.
func (l renewLock) Create(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	return l.timed(ler, func() error { return l.Interface.Create(ctx, ler) })
}

// Update implements resourcelock.Interface.
func (l renewLock) Update(ctx context.Context, ler resourcelock.LeaderElectionRecord) error {
	return l.timed(ler, func() error { return l.Interface.Update(ctx, ler) })
}

// timed runs one write of ler and records it when it made this candidate the holder. A record
// naming someone else is a release (client-go writes an empty holder): the lease is forgotten at
// once, before the request is sent, and the release is sent only while the lease is still
// provably this candidate's. client-go also releases after a renewal failed (ReleaseOnCancel), by
// then possibly over another candidate's fresh record; a process paused past its lease must not
// clear the Lease its successor holds.
func (l renewLock) timed(ler resourcelock.LeaderElectionRecord, write func() error) error {
	if ler.HolderIdentity != l.Identity() {
		valid := l.e.Remaining() > 0
		l.e.forget()
		if !valid {
			return errReleaseExpired
		}
		return write()
	}
	start := l.e.cfg.Clock.Now()
	err := write()
	if err == nil {
		l.e.renewed(start)
	}
	return err
}
