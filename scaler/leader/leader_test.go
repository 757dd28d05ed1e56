package leader_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tidal-planner/tidal/scaler/kubetest"
	"github.com/tidal-planner/tidal/scaler/leader"
)

// cluster is the package's etcd + kube-apiserver with deploy/rbac applied: the candidates run as
// tidal's ServiceAccount, so the tests also prove the shipped Lease permissions suffice.
var cluster *kubetest.Cluster

func TestMain(m *testing.M) {
	opts := kubetest.Options{Manifests: []string{filepath.Join("..", "..", "deploy", "rbac")}}
	os.Exit(kubetest.Main(m, opts, &cluster))
}

// Short timings so the tests take seconds; the ratios are client-go's usual ones.
const (
	leaseDuration = 2 * time.Second
	renewDeadline = time.Second
	retryPeriod   = 200 * time.Millisecond
)

func TestNewValidates(t *testing.T) {
	// No request is sent: New only validates, so an unreachable address is fine.
	client, err := kubernetes.NewForConfig(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     leader.Config
		wantErr bool
	}{
		{"defaults", leader.Config{Client: client, Namespace: "ns", Identity: "a"}, false},
		{"no client", leader.Config{Namespace: "ns", Identity: "a"}, true},
		{"no namespace", leader.Config{Client: client, Identity: "a"}, true},
		{"no identity", leader.Config{Client: client, Namespace: "ns"}, true},
		{"renew deadline beyond lease", leader.Config{Client: client, Namespace: "ns", Identity: "a",
			LeaseDuration: time.Second, RenewDeadline: 2 * time.Second}, true},
		{"retry beyond renew deadline", leader.Config{Client: client, Namespace: "ns", Identity: "a",
			RenewDeadline: time.Second, RetryPeriod: 2 * time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := leader.New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Errorf("New error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

// race is a set of candidates for one Lease, with a count of how many lead at once.
type race struct {
	t     *testing.T
	mu    sync.Mutex
	now   int // candidates leading now
	most  int // the most that ever led at once
	cands map[string]*candidate
}

type candidate struct {
	e      *leader.Elector
	cancel context.CancelFunc
	done   chan struct{}
}

func newRace(t *testing.T) *race {
	kubetest.Require(t, cluster)
	t.Cleanup(func() { deleteLease(t) })
	return &race{t: t, cands: map[string]*candidate{}}
}

// start launches a candidate acting as the tidal ServiceAccount.
func (r *race) start(id string, release bool) *candidate {
	r.t.Helper()
	cs, err := kubernetes.NewForConfig(cluster.Config(kubetest.Tidal))
	if err != nil {
		r.t.Fatal(err)
	}
	e, err := leader.New(leader.Config{
		Client: cs, Namespace: kubetest.TidalNamespace, Identity: id,
		LeaseDuration: leaseDuration, RenewDeadline: renewDeadline, RetryPeriod: retryPeriod,
		ReleaseOnCancel:  release,
		OnStartedLeading: func(context.Context) { r.count(+1) },
		OnStoppedLeading: func() { r.count(-1) },
	})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &candidate{e: e, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(c.done); e.Run(ctx) }()
	r.cands[id] = c
	r.t.Cleanup(c.stop)
	return c
}

func (r *race) count(delta int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now += delta
	r.most = max(r.most, r.now)
}

// stop ends a candidate's campaign and waits for Run to return.
func (c *candidate) stop() {
	c.cancel()
	<-c.done
}

// waitFor polls until cond holds (the timeout only bounds a broken test; it is not a target).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting until %s: %v", what, err)
	}
}

// lease reads the Lease as Admin.
func lease(t *testing.T) *coordinationv1.Lease {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cluster.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	l, err := cs.CoordinationV1().Leases(kubetest.TidalNamespace).Get(t.Context(), leader.DefaultLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the Lease: %v", err)
	}
	return l
}

func deleteLease(t *testing.T) {
	cs, err := kubernetes.NewForConfig(cluster.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	err = cs.CoordinationV1().Leases(kubetest.TidalNamespace).Delete(context.Background(), leader.DefaultLeaseName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("deleting the Lease: %v", err)
	}
}

func TestOnlyOneCandidateLeads(t *testing.T) {
	r := newRace(t)
	a, b := r.start("a", true), r.start("b", true)
	waitFor(t, "a candidate leads", func() bool { return a.e.IsLeader() || b.e.IsLeader() })
	winner, loser := a, b
	if b.e.IsLeader() {
		winner, loser = b, a
	}
	waitFor(t, "the follower sees the leader", func() bool { return loser.e.Leader() == winner.e.Identity() })
	if loser.e.IsLeader() {
		t.Errorf("both %s and %s lead", winner.e.Identity(), loser.e.Identity())
	}
	if got := lease(t).Spec.HolderIdentity; got == nil || *got != winner.e.Identity() {
		t.Errorf("Lease holder %v, want %s", got, winner.e.Identity())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.most != 1 {
		t.Errorf("%d candidates led at once, want 1", r.most)
	}
}

func TestLeaderHandsOver(t *testing.T) {
	tests := []struct {
		name    string
		release bool // the leader stops cleanly (ReleaseOnCancel) rather than crashing
	}{
		{"leader stops cleanly and releases the Lease", true},
		{"leader crashes without releasing", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRace(t)
			a := r.start("a", tt.release)
			waitFor(t, "a leads", a.e.IsLeader)
			b := r.start("b", tt.release)
			waitFor(t, "b sees a lead", func() bool { return b.e.Leader() == "a" })
			transitions := lease(t).Spec.LeaseTransitions

			a.stop() // a stops renewing; with release it also clears the holder
			if a.e.IsLeader() {
				t.Fatal("a still claims to lead after stopping")
			}
			lastByA := lease(t).Spec.RenewTime.Time
			waitFor(t, "b leads", b.e.IsLeader)
			l := lease(t)
			if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "b" {
				t.Fatalf("Lease holder %v after the handover, want b", l.Spec.HolderIdentity)
			}
			gap := l.Spec.AcquireTime.Sub(lastByA)
			t.Logf("handover: b acquired the Lease %v after a's last write (lease duration %v, retry period %v)",
				gap.Round(time.Millisecond), leaseDuration, retryPeriod)
			if !tt.release && gap < leaseDuration {
				t.Errorf("b took over %v after a's last renewal, before the %v lease expired", gap, leaseDuration)
			}
			if got := l.Spec.LeaseTransitions; got == nil || transitions == nil || *got <= *transitions {
				t.Errorf("LeaseTransitions %v -> %v, want an increase", transitions, got)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.most != 1 {
				t.Errorf("%d candidates led at once, want 1", r.most)
			}
		})
	}
}
