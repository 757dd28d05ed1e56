package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
	"github.com/tidal-planner/tidal/test/faultproxy"
)

// putLog records the /scale updates one tidal sent through its proxy, as the apiserver answered.
type putLog struct {
	mu   sync.Mutex
	puts []scalePut
}

// scalePut is one PUT of a /scale subresource: when its answer came back, the adapter, the
// status and the replicas the answer carries (the value written when the status is 200).
type scalePut struct {
	at       time.Time
	adapter  string
	status   int
	replicas int32
}

// recordPuts makes p forward every request and record each /scale PUT in the returned log.
func recordPuts(p *faultproxy.Proxy) *putLog {
	l := &putLog{}
	p.Set(l.fault())
	return l
}

// fault is the proxy's pass-through that records /scale PUTs.
func (l *putLog) fault() faultproxy.Fault {
	return faultproxy.Rewrite(func(status int, body []byte) (int, []byte) {
		var s struct {
			Metadata struct{ Name string }
			Spec     struct{ Replicas int32 }
		}
		_ = json.Unmarshal(body, &s)
		l.mu.Lock()
		l.puts = append(l.puts, scalePut{at: time.Now(), adapter: s.Metadata.Name, status: status, replicas: s.Spec.Replicas})
		l.mu.Unlock()
		return status, body
	}).Only(isScalePut)
}

func isScalePut(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/scale")
}

// since returns the PUTs answered at or after t.
func (l *putLog) since(t time.Time) []scalePut {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []scalePut
	for _, p := range l.puts {
		if !p.at.Before(t) {
			out = append(out, p)
		}
	}
	return out
}

// proxiedConfig returns user's client configuration through a new fault proxy in front of the
// world's apiserver: the proxy speaks plain HTTP to tidal and TLS (trusting the apiserver's CA) to
// the apiserver; the bearer token passes through.
func (w *e2eWorld) proxiedConfig(user kubetest.User) (*rest.Config, *faultproxy.Proxy) {
	t := w.t
	direct := w.cluster.Config(user)
	rt, err := rest.TransportFor(&rest.Config{Host: direct.Host, TLSClientConfig: direct.TLSClientConfig})
	if err != nil {
		t.Fatal(err)
	}
	p := faultproxy.NewT(t, direct.Host, faultproxy.Options{Transport: rt})
	return &rest.Config{Host: p.URL(), BearerToken: direct.BearerToken, QPS: 100, Burst: 200}, p
}

// kubeTicks collects every tick of the e2e policy by polling the loop (both fault suites use it).
type kubeTicks struct {
	mu    sync.Mutex
	ticks []planner.Tick
}

func collectTicks(t *testing.T, td *tidal) *kubeTicks {
	l := &kubeTicks{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if tk, ok := td.loop.Latest("e2e"); ok {
				l.mu.Lock()
				if n := len(l.ticks); n == 0 || !l.ticks[n-1].Time.Equal(tk.Time) {
					l.ticks = append(l.ticks, tk)
				}
				l.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond): // polling the real loop, not a timing
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// firstAfter waits (up to limit) for the first tick decided at or after t that satisfies ok.
func (l *kubeTicks) firstAfter(t *testing.T, from time.Time, limit time.Duration, ok func(planner.Tick) bool) (planner.Tick, bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for _, tk := range l.ticks {
			if !tk.Time.Before(from) && ok(tk) {
				l.mu.Unlock()
				return tk, true
			}
		}
		l.mu.Unlock()
		<-time.After(50 * time.Millisecond) // waiting for the real loop
	}
	return planner.Tick{}, false
}

// between returns the ticks decided in [from, to).
func (l *kubeTicks) between(from, to time.Time) []planner.Tick {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []planner.Tick
	for _, tk := range l.ticks {
		if !tk.Time.Before(from) && tk.Time.Before(to) {
			out = append(out, tk)
		}
	}
	return out
}

// decided is a tick whose frontend was read and sized (not held) to want replicas, and which
// leaves nothing owed: either the cluster holds want or the decision writes it.
func decided(want int32) func(planner.Tick) bool {
	return func(tk planner.Tick) bool {
		s, ok := tk.Decision.Service(e2eFrontend)
		return ok && s.ReplicasKnown && !s.Held && s.Desired == want && (s.Current == want || s.Write) &&
			!hasReason(s, planner.CodeWriterBackoff)
	}
}

func hasReason(s planner.ServiceDecision, c planner.Code) bool {
	for _, r := range s.Reasons {
		if r.Code == c {
			return true
		}
	}
	return false
}

// writesDuring returns the persisted writes during a fault: every DGDSA change the operator saw,
// or, when another writer takes part, tidal's own successful PUTs.
func (k *kubeFaults) writesDuring(f kubeFault, from, to time.Time) []scaleWrite {
	var out []scaleWrite
	if f.otherWriter {
		for _, p := range k.puts.since(from) {
			if p.status == http.StatusOK && p.at.Before(to) {
				out = append(out, scaleWrite{at: p.at, adapter: p.adapter, replicas: p.replicas})
			}
		}
		return out
	}
	for _, wr := range k.w.writes.snapshot() {
		if !wr.at.Before(from) && wr.at.Before(to) {
			out = append(out, wr)
		}
	}
	return out
}

// kubeMetric returns the value of the tidal metric line with exactly these labels (0 if absent).
func kubeMetric(t *testing.T, td *tidal, line string) float64 {
	t.Helper()
	_, body := td.get(t, "/metrics")
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, line+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err != nil {
				t.Fatalf("reading %s from /metrics: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// hasEvent reports whether an Event with reason about the named object exists.
func (w *e2eWorld) hasEvent(t *testing.T, reason, name string) bool {
	t.Helper()
	kube, err := kubernetes.NewForConfig(w.cluster.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := kube.EventsV1().Events(w.ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Items {
		if e.Reason == reason && e.Regarding.Name == name {
			return true
		}
	}
	return false
}

// waitEvent waits (up to limit) for an Event with reason about name.
func (w *e2eWorld) waitEvent(t *testing.T, reason, name string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if w.hasEvent(t, reason, name) {
			return true
		}
		<-time.After(200 * time.Millisecond) // the event broadcaster writes asynchronously
	}
	return false
}

// setClusterRoleVerbs sets the verbs of the shipped ClusterRole's rule on resource.
func (w *e2eWorld) setClusterRoleVerbs(t *testing.T, resource string, verbs ...string) {
	t.Helper()
	kube, err := kubernetes.NewForConfig(w.cluster.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	cr, err := kube.RbacV1().ClusterRoles().Get(t.Context(), "tidal", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i, r := range cr.Rules {
		if len(r.Resources) == 1 && r.Resources[0] == resource {
			cr.Rules[i] = rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: r.Resources, Verbs: verbs}
			found = true
		}
	}
	if !found {
		t.Fatalf("the shipped ClusterRole has no rule for %s", resource)
	}
	if _, err := kube.RbacV1().ClusterRoles().Update(t.Context(), cr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// setAdapter sets a DGDSA's spec.replicas as Admin (another writer).
func (w *e2eWorld) setAdapter(ctx context.Context, service string, n int64) error {
	u, err := w.adapters().Get(ctx, scaler.AdapterName(e2eDGD, service), metav1.GetOptions{})
	if err != nil {
		return err
	}
	if err := unstructured.SetNestedField(u.Object, n, "spec", "replicas"); err != nil {
		return err
	}
	_, err = w.adapters().Update(ctx, u, metav1.UpdateOptions{})
	return err
}

// recreate creates a copy of an object read before it was deleted.
func recreate(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	c.SetResourceVersion("")
	c.SetUID("")
	c.SetCreationTimestamp(metav1.Time{})
	c.SetManagedFields(nil)
	delete(c.Object, "status")
	return c
}
