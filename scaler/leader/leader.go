package leader

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/utils/clock"
)

// DefaultLeaseName is the Lease tidal's shipped RBAC (deploy/rbac) lets it get and update.
const DefaultLeaseName = "tidal"

// Defaults for the timing fields of Config (client-go's customary values).
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Config configures an Elector.
type Config struct {
	// Client talks to the API server (required).
	Client kubernetes.Interface
	// Namespace and Name locate the Lease (Namespace required; Name default DefaultLeaseName).
	Namespace, Name string
	// Identity names this candidate in the Lease; it must differ between replicas (for example
	// the pod name). Required.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod: see the package doc (defaults 15s, 10s, 2s;
	// LeaseDuration > RenewDeadline > RetryPeriod).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// ReleaseOnCancel clears the Lease's holder when Run's context ends while leading, so a
	// follower takes over at once instead of after LeaseDuration.
	ReleaseOnCancel bool
	// OnStartedLeading runs in its own goroutine when this candidate becomes leader; its context
	// ends when leadership is lost or Run's context ends. Optional.
	OnStartedLeading func(ctx context.Context)
	// OnStoppedLeading runs when this candidate stops leading (never if it did not lead). Optional.
	OnStoppedLeading func()
	// OnNewLeader runs when the observed leader changes, with its identity. Optional.
	OnNewLeader func(identity string)
	// Clock times renewals for Remaining (default clock.RealClock{}). client-go's own timers
	// always use the real clock.
	Clock clock.PassiveClock
}

// Elector campaigns for the Lease. IsLeader, Leader and Check are safe for concurrent use.
type Elector struct {
	cfg     Config
	healthz *leaderelection.HealthzAdaptor

	mu        sync.Mutex // guards leading, leader and renewedAt
	leading   bool
	leader    string
	renewedAt time.Time // start of the last successful acquire or renew (zero: none valid)
}

// New checks cfg, applies the defaults and returns an Elector that has not started campaigning.
func New(cfg Config) (*Elector, error) {
	if cfg.Client == nil || cfg.Namespace == "" || cfg.Identity == "" {
		return nil, errors.New("creating the leader elector: client, namespace and identity are required")
	}
	if cfg.Name == "" {
		cfg.Name = DefaultLeaseName
	}
	cfg.LeaseDuration = orDefault(cfg.LeaseDuration, DefaultLeaseDuration)
	cfg.RenewDeadline = orDefault(cfg.RenewDeadline, DefaultRenewDeadline)
	cfg.RetryPeriod = orDefault(cfg.RetryPeriod, DefaultRetryPeriod)
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if !(cfg.LeaseDuration > cfg.RenewDeadline && cfg.RenewDeadline > cfg.RetryPeriod) {
		return nil, fmt.Errorf("creating the leader elector: want leaseDuration %v > renewDeadline %v > retryPeriod %v",
			cfg.LeaseDuration, cfg.RenewDeadline, cfg.RetryPeriod)
	}
	e := &Elector{cfg: cfg, healthz: leaderelection.NewLeaderHealthzAdaptor(cfg.RenewDeadline)}
	if _, err := e.elector(); err != nil {
		return nil, err
	}
	return e, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Run campaigns until ctx ends: it waits for the Lease, leads until it loses it, and then
// campaigns again. It returns after ctx ends and any leadership has been given up.
func (e *Elector) Run(ctx context.Context) {
	for ctx.Err() == nil {
		le, err := e.elector()
		if err != nil { // New validated the same configuration; this cannot happen
			return
		}
		e.healthz.SetLeaderElection(le)
		le.Run(ctx)
	}
}

// elector builds one round's client-go LeaderElector.
func (e *Elector) elector() (*leaderelection.LeaderElector, error) {
	var lock resourcelock.Interface = &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: e.cfg.Namespace, Name: e.cfg.Name},
		Client:     e.cfg.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: e.cfg.Identity},
	}
	lock = renewLock{Interface: lock, e: e}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:          lock,
		LeaseDuration: e.cfg.LeaseDuration, RenewDeadline: e.cfg.RenewDeadline, RetryPeriod: e.cfg.RetryPeriod,
		ReleaseOnCancel: e.cfg.ReleaseOnCancel,
		Name:            e.cfg.Namespace + "/" + e.cfg.Name,
		WatchDog:        e.healthz,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: e.started,
			OnStoppedLeading: e.stopped,
			OnNewLeader:      e.newLeader,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the leader elector: %w", err)
	}
	return le, nil
}

// started runs in its own goroutine (client-go starts it with go) and may therefore run after
// the round has already ended; client-go cancels ctx before calling stopped, so checking ctx under
// the lock keeps leading from being set after stopped cleared it.
func (e *Elector) started(ctx context.Context) {
	e.mu.Lock()
	if ctx.Err() != nil {
		e.mu.Unlock()
		return
	}
	e.leading = true
	e.mu.Unlock()
	if e.cfg.OnStartedLeading != nil {
		e.cfg.OnStartedLeading(ctx)
	}
}

// stopped runs when a round ends, led or not.
func (e *Elector) stopped() {
	e.mu.Lock()
	was := e.leading
	e.leading = false
	e.renewedAt = time.Time{}
	e.mu.Unlock()
	if was && e.cfg.OnStoppedLeading != nil {
		e.cfg.OnStoppedLeading()
	}
}

func (e *Elector) newLeader(identity string) {
	e.mu.Lock()
	e.leader = identity
	e.mu.Unlock()
	if e.cfg.OnNewLeader != nil {
		e.cfg.OnNewLeader(identity)
	}
}

// IsLeader reports whether client-go considers this candidate the leader. It may still say true
// for up to RenewDeadline after the Lease was lost (a paused process): writers must ask Remaining.
func (e *Elector) IsLeader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

// Leader returns the identity of the last observed leader ("" before any).
func (e *Elector) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader
}

// Identity returns this candidate's identity.
func (e *Elector) Identity() string { return e.cfg.Identity }

// Check is a health check for /healthz: it fails when this candidate believes it leads but has
// not renewed the Lease for longer than RenewDeadline (a stuck leader should be restarted).
func (e *Elector) Check(req *http.Request) error { return e.healthz.Check(req) }
