package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/klog/v2"

	"github.com/tidal-planner/tidal/scaler"
)

// cutTransport fails every request once cut is set: a tidal whose API server connection is cut
// can neither renew its lease nor write, as a crashed or partitioned replica.
type cutTransport struct {
	next http.RoundTripper
	cut  *atomic.Bool
}

func (c cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.cut.Load() {
		return nil, errors.New("connection cut by the test")
	}
	return c.next.RoundTrip(r)
}

// leading reports whether a tidal's /metrics says it holds the lease.
func (td *tidal) leading(t *testing.T) bool {
	_, body := td.get(t, "/metrics")
	return strings.Contains(body, "\ntidal_leader 1\n")
}

// waitLeading waits until td leads and returns how long that took.
func waitLeading(t *testing.T, td *tidal, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		if td.leading(t) {
			return time.Since(start)
		}
		<-time.After(100 * time.Millisecond) // polling a real lease, not a timing
	}
	t.Fatalf("not leading within %s", limit)
	return 0
}

// outcomes counts the kept decisions of a tidal by outcome.
func outcomes(td *tidal) map[string]int {
	out := map[string]int{}
	for _, d := range td.rec.Decisions("e2e", 0) {
		out[d.Outcome]++
	}
	return out
}

func TestRunLeaderElection(t *testing.T) {
	w := newE2EWorld(t)
	w.runOperator(t)
	policy := w.e2ePolicy(t.TempDir())
	flags := func(id string) runFlags {
		return runFlags{policies: policy, leaderElect: true, leaseName: "tidal", leaseNamespace: "tidal-system",
			identity: id, leaseDuration: 4 * time.Second, renewDeadline: 3 * time.Second, retryPeriod: 500 * time.Millisecond}
	}
	var cutA atomic.Bool
	var logs syncWriter
	klog.SetSlogLogger(slog.New(slog.NewTextHandler(&logs, nil))) // client-go's election logs join tidal's
	a := w.startTidalWith(flags("tidal-a"), &logs, func(rt http.RoundTripper) http.RoundTripper { return cutTransport{rt, &cutA} })
	waitLeading(t, a, 30*time.Second)
	b := w.startTidal(flags("tidal-b"), &logs)
	steadyTick(t, a, 2, 60*time.Second)
	steadyTick(t, b, 2, 60*time.Second)
	frontend := scaler.AdapterName(e2eDGD, e2eFrontend)

	step := time.Now()
	w.setLoad(3 * e2eBaseRate)
	w.writes.waitFor(t, frontend, step, 60*time.Second, func(n int32) bool { return n == 5 })
	steadyTick(t, b, 5, 30*time.Second) // the follower computed the same decision, warm
	if got := outcomes(b); got["applied"] != 0 || b.leading(t) {
		t.Errorf("the follower applied (outcomes %v, leading %v)", got, b.leading(t))
	}

	cut := time.Now()
	cutA.Store(true) // the leader can no longer renew or write
	takeover := waitLeading(t, b, 30*time.Second)
	down := time.Now()
	w.setLoad(e2eBaseRate)
	back := w.writes.waitFor(t, frontend, down, 90*time.Second, func(n int32) bool { return n == 2 })
	if got := outcomes(b); got["applied"] == 0 {
		t.Errorf("the new leader never applied: outcomes %v", got)
	}
	t.Logf("leader cut off at %s; the follower led after %s (lease 4s, renew deadline 3s, retry 0.5s) and scaled back to 2 %s after the step down",
		cut.Format("15:04:05.000"), takeover.Round(time.Millisecond), back.at.Sub(down).Round(time.Millisecond))
	fmt.Printf("E2E failover: takeover after %s\n", takeover.Round(time.Millisecond))
	if t.Failed() {
		t.Logf("tidal logs:\n%s", logs.String())
	}
}
