// Package leader lets several tidal replicas share one coordination.k8s.io Lease so that only the
// holder writes: a thin wrapper over client-go's leaderelection with callbacks, an IsLeader flag for
// a loop that keeps computing while it follows (so a failover is warm), and a health check.
//
// Timing (client-go's semantics): the holder renews every RetryPeriod and gives up leading when it
// has not renewed for RenewDeadline; a follower takes over a Lease nobody renewed for
// LeaseDuration. A holder that stops cleanly with ReleaseOnCancel hands over at once; one that
// crashes hands over after at most about LeaseDuration + RetryPeriod.
package leader
