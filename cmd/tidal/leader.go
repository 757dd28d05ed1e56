package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// election is the leader-election settings of tidal run.
type election struct {
	namespace, name, identity            string
	leaseDuration, renewDeadline, period time.Duration
}

// runElection campaigns for the Lease until ctx ends, keeping leading up to date: true while this
// process holds the lease. Losing the lease (a renewal that misses its deadline) makes this
// process a follower again and it campaigns anew; it keeps computing in the meantime, so a
// takeover starts warm. The lease is released when ctx ends, so a successor takes over at once.
// onChange is called with every change of leadership.
func runElection(ctx context.Context, client kubernetes.Interface, e election, leading *atomic.Bool,
	onChange func(bool), logger *slog.Logger) error {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.namespace, Name: e.name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.identity},
	}
	set := func(v bool) {
		leading.Store(v)
		onChange(v)
	}
	cfg := leaderelection.LeaderElectionConfig{
		Lock: lock, Name: e.name, ReleaseOnCancel: true,
		LeaseDuration: e.leaseDuration, RenewDeadline: e.renewDeadline, RetryPeriod: e.period,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) {
				logger.Info("leading: this process now writes decisions", "lease", e.namespace+"/"+e.name, "identity", e.identity)
				set(true)
			},
			OnStoppedLeading: func() {
				logger.Info("following: this process computes but does not write", "lease", e.namespace+"/"+e.name)
				set(false)
			},
			OnNewLeader: func(id string) {
				if id != e.identity {
					logger.Info("another process leads", "leader", id)
				}
			},
		},
	}
	le, err := leaderelection.NewLeaderElector(cfg)
	if err != nil {
		return fmt.Errorf("configuring leader election on lease %s/%s: %w", e.namespace, e.name, err)
	}
	for ctx.Err() == nil {
		le.Run(ctx)
	}
	return nil
}
