package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/metrics/promtest"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// Paths relative to this package: the repository root is "../..". The CRDs are the in-repo
// fixtures (testdata/crds/README.md: the DGD's status and the DGDSA's scale subresources).
var (
	e2eCRDs = filepath.Join("..", "..", "testdata", "crds")
	e2eRBAC = filepath.Join("..", "..", "deploy", "rbac")
)

// The end-to-end deployment: DGD "qwen" with a Frontend sized by requests/s (10 per replica) and an
// aggregated worker, both behind scaling adapters.
const (
	e2eDGD       = "qwen"
	e2eFrontend  = "Frontend"
	e2eWorker    = "VllmWorker"
	e2eBaseRate  = 15.0 // requests/s: 2 frontends
	e2eInterval  = 2 * time.Second
	e2eScrape    = time.Second
	e2eRPSPerRep = 10.0
)

// e2eWorld is one end-to-end test's real programs: kube-apiserver + etcd, Prometheus scraping the
// synthetic exporter, and the test playing the Dynamo operator.
type e2eWorld struct {
	t        *testing.T
	cluster  *kubetest.Cluster
	ns       string
	admin    dynamic.Interface
	exporter *promtest.Exporter
	prom     *promtest.Server
	writes   *writeLog
}

func newE2EWorld(t *testing.T) *e2eWorld {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: starts etcd, kube-apiserver and Prometheus")
	}
	c, err := kubetest.Start(t.Context(), kubetest.Options{CRDs: []string{e2eCRDs}, Manifests: []string{e2eRBAC}})
	if errors.Is(err, kubetest.ErrNotInstalled) && os.Getenv(kubetest.SkipEnv) == "1" {
		t.Skipf("skipping: %v (%s=1)", err, kubetest.SkipEnv)
	}
	if err != nil {
		t.Fatalf("starting kube-apiserver: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	w := &e2eWorld{t: t, cluster: c, writes: &writeLog{}}
	if w.ns, err = c.CreateNamespace(t.Context(), "run"); err != nil {
		t.Fatal(err)
	}
	if w.admin, err = dynamic.NewForConfig(c.Config(kubetest.Admin)); err != nil {
		t.Fatal(err)
	}
	w.exporter = promtest.NewExporterT(t)
	w.setLoad(e2eBaseRate)
	w.prom = promtest.StartT(t, promtest.Config{Targets: []string{w.exporter.Addr()}, Interval: e2eScrape})
	w.createDeployment()
	return w
}

// setLoad sets the synthetic frontend's request rate (healthy latencies, 3000/150 tokens).
func (w *e2eWorld) setLoad(rate float64) {
	w.exporter.Set(promtest.Deployment{
		Model: "qwen", Namespace: w.ns + "-" + e2eDGD, RequestRate: rate,
		InputTokens: promtest.Uniform{Lo: 2750, Hi: 3250}, OutputTokens: promtest.Uniform{Lo: 125, Hi: 175},
		TTFT: promtest.Uniform{Lo: 0.05, Hi: 0.15}, ITL: promtest.Uniform{Lo: 0.005, Hi: 0.01},
		Frontends: []promtest.Frontend{{Queued: 0, Inflight: rate}},
		Workers:   []promtest.Worker{{ID: "w0", Type: "decode", KVUsage: 0.3, ActiveDecodeBlocks: 100}},
	})
}

// createDeployment creates the DGD with its status and the DGDSAs the operator would create.
func (w *e2eWorld) createDeployment() {
	t := w.t
	svc := func(kind string, replicas int64) map[string]any {
		return map[string]any{"componentType": kind, "replicas": replicas,
			"scalingAdapter": map[string]any{"enabled": true}, "resources": map[string]any{"limits": map[string]any{"gpu": "1"}}}
	}
	dgd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
		"metadata": map[string]any{"name": e2eDGD, "namespace": w.ns},
		"spec":     map[string]any{"services": map[string]any{e2eFrontend: svc("frontend", 2), e2eWorker: svc("worker", 1)}},
	}}
	if _, err := w.dgds().Create(t.Context(), dgd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the DGD: %v", err)
	}
	for name, n := range map[string]int64{e2eFrontend: 2, e2eWorker: 1} {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter",
			"metadata": map[string]any{"name": scaler.AdapterName(e2eDGD, name), "namespace": w.ns, "labels": map[string]any{
				"nvidia.com/dynamo-graph-deployment-name": e2eDGD, "nvidia.com/dynamo-component": name}},
			"spec": map[string]any{"replicas": n, "dgdRef": map[string]any{"name": e2eDGD, "serviceName": name}},
		}}
		if _, err := w.adapters().Create(t.Context(), u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating the DGDSA of %s: %v", name, err)
		}
	}
	w.syncStatus()
}

func (w *e2eWorld) dgds() dynamic.ResourceInterface {
	return w.admin.Resource(scaler.DeploymentResource).Namespace(w.ns)
}

func (w *e2eWorld) adapters() dynamic.ResourceInterface {
	return w.admin.Resource(scaler.AdapterResource).Namespace(w.ns)
}

// syncStatus plays the operator once: every service's pods become ready at its adapter's
// spec.replicas (status.services[*]) and the DGD is Ready. It never touches the DGD's spec.
func (w *e2eWorld) syncStatus() {
	ctx := context.WithoutCancel(w.t.Context())
	list, err := w.adapters().List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	services := map[string]any{}
	for _, a := range list.Items {
		n, _, _ := unstructured.NestedInt64(a.Object, "spec", "replicas")
		name, _, _ := unstructured.NestedString(a.Object, "spec", "dgdRef", "serviceName")
		services[name] = map[string]any{"componentKind": "Deployment", "componentName": e2eDGD + "-" + strings.ToLower(name), "replicas": n, "updatedReplicas": n, "readyReplicas": n, "availableReplicas": n}
	}
	dgd, err := w.dgds().Get(ctx, e2eDGD, metav1.GetOptions{})
	if err != nil {
		return
	}
	dgd.Object["status"] = map[string]any{"state": "successful", "services": services, "conditions": []any{map[string]any{
		"type": "Ready", "status": "True", "reason": "AllServicesReady", "message": "ready",
		"lastTransitionTime": "2026-03-02T10:00:00Z"}}}
	if _, err := w.dgds().UpdateStatus(ctx, dgd, metav1.UpdateOptions{}); err != nil && w.t.Context().Err() == nil {
		w.t.Errorf("playing the operator: writing the DGD status: %v", err)
	}
}

// runOperator runs the fake operator (operate) until the test ends and waits for it to stop. A
// goroutine that outlives its test races with the next test's process-wide writes (runRun sets
// klog's logger, which client-go reads on every response): the race detector caught exactly that.
func (w *e2eWorld) runOperator(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.operate(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// operate plays the operator until ctx ends: every 100 ms it lists the DGDSAs, logs every
// spec.replicas change with the time it was seen (so reaction times carry up to 100 ms of
// polling), and marks the new replicas ready at once. (It polls: a watch on this bare API server
// can fail at once with "too large resource version".)
func (w *e2eWorld) operate(ctx context.Context) {
	last := map[string]int64{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		list, err := w.adapters().List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		changed := false
		for _, u := range list.Items {
			n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
			if prev, seen := last[u.GetName()]; !seen || prev != n {
				last[u.GetName()] = n
				changed = true
				if seen {
					w.writes.add(u.GetName(), int32(n))
				}
			}
		}
		if changed {
			w.syncStatus()
		}
	}
}

// writeLog records the /scale writes observed through the watch.
type writeLog struct {
	mu     sync.Mutex
	writes []scaleWrite
}

type scaleWrite struct {
	at       time.Time
	adapter  string
	replicas int32
}

func (l *writeLog) add(adapter string, n int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes = append(l.writes, scaleWrite{at: time.Now(), adapter: adapter, replicas: n})
}

// waitFor returns the first write to adapter after since that satisfies ok, or fails after limit.
func (l *writeLog) waitFor(t *testing.T, adapter string, since time.Time, limit time.Duration, ok func(int32) bool) scaleWrite {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for _, w := range l.writes {
			if w.adapter == adapter && !w.at.Before(since) && ok(w.replicas) {
				l.mu.Unlock()
				return w
			}
		}
		l.mu.Unlock()
		<-time.After(50 * time.Millisecond) // polling a real API server's watch log, not a timing
	}
	t.Fatalf("no matching write to %s within %s; writes: %v", adapter, limit, l.all())
	return scaleWrite{}
}

// snapshot returns a copy of the writes seen so far.
func (l *writeLog) snapshot() []scaleWrite {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]scaleWrite(nil), l.writes...)
}

func (l *writeLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, w := range l.writes {
		out = append(out, fmt.Sprintf("%s=%d@%s", w.adapter, w.replicas, w.at.Format("15:04:05.000")))
	}
	return out
}

// e2ePolicy is the policy tidal runs against the world, written to a file.
func (w *e2eWorld) e2ePolicy(dir string) string {
	doc := fmt.Sprintf(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: e2e}
spec:
  target: {namespace: %s, deployment: %s, topology: aggregated}
  mode: apply
  services:
    - {name: %s, role: frontend, minReplicas: 1, maxReplicas: 10, requestsPerSecondPerReplica: %g, startupTime: 2s}
    - {name: %s, role: aggregated, minReplicas: 1, maxReplicas: 4, startupTime: 2s}
  slo: {ttft: {target: 2s}, itl: {target: 100ms}}
  metrics:
    prometheus: {url: %q, timeout: 2s}
    model: qwen
    window: 10s
  planning: {interval: %s, headroom: 0, forecast: {method: last, seasonality: 1m, history: 2m}}
  stability: {scaleDownWindow: 12s, maxStepDown: 10, startupTimeout: 30s}
`, w.ns, e2eDGD, e2eFrontend, e2eRPSPerRep, e2eWorker, w.prom.URL(), e2eInterval)
	path := filepath.Join(dir, "e2e.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// tidal is one running "tidal run" (serve) against the world, as the least-privileged identity.
type tidal struct {
	once   sync.Once
	cancel context.CancelFunc
	done   chan error
	addr   string
	loop   *planner.Loop
	rec    *ops.Recorder
}

// startTidal starts serve as kubetest.Tidal (bound only to deploy/rbac). Its planner sizes from
// the observed load without forecasts: the forecasters are tested in their package, and here the
// expected replica counts must be exact (a forecaster's prediction interval widens after a step).
func (w *e2eWorld) startTidal(f runFlags, logs io.Writer) *tidal {
	w.t.Helper()
	return w.startTidalWith(f, logs, nil)
}

// startTidalWith is startTidal with the API client's transport wrapped by wrap (if not nil).
func (w *e2eWorld) startTidalWith(f runFlags, logs io.Writer, wrap func(http.RoundTripper) http.RoundTripper) *tidal {
	w.t.Helper()
	cfg := w.cluster.Config(kubetest.Tidal)
	if wrap != nil {
		cfg.Wrap(wrap)
	}
	return w.startTidalConfig(f, logs, cfg)
}

// startTidalConfig is startTidal with the given client configuration (e.g. through a proxy).
func (w *e2eWorld) startTidalConfig(f runFlags, logs io.Writer, cfg *rest.Config) *tidal {
	w.t.Helper()
	ps, err := policies.Load(f.policies)
	if err != nil {
		w.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	td := &tidal{cancel: cancel, done: make(chan error, 1), addr: ln.Addr().String()}
	started := make(chan struct{})
	d := deps{clock: clock.RealClock{}, rest: cfg, listener: ln,
		logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		started: func(l *planner.Loop, r *ops.Recorder) { td.loop, td.rec = l, r; close(started) },
		newState: func(p policies.Policy) planner.State {
			return planner.NewState(p, planner.Options{NewForecaster: func(policies.Forecast, time.Duration) forecast.Forecaster { return nil }})
		}}
	go func() { td.done <- serve(ctx, f, ps, d) }()
	select {
	case <-started:
	case err := <-td.done:
		w.t.Fatalf("tidal run stopped at start: %v", err)
	}
	w.t.Cleanup(td.stop)
	return td
}

// stop cancels tidal and waits for it (SIGTERM's path); later calls do nothing.
func (td *tidal) stop() {
	td.once.Do(func() {
		td.cancel()
		if err := <-td.done; err != nil && !errors.Is(err, context.Canceled) {
			panic(fmt.Sprintf("tidal run returned %v", err))
		}
	})
}

func (td *tidal) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + td.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRunEndToEnd(t *testing.T) {
	w := newE2EWorld(t)
	w.runOperator(t)
	var logs syncWriter
	f := runFlags{policies: w.e2ePolicy(t.TempDir()), backfill: true}
	td := w.startTidal(f, &logs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tidal logs:\n%s", logs.String())
			if tk, ok := td.loop.Latest("e2e"); ok {
				for _, s := range tk.Decision.Services {
					t.Logf("last decision %s: %d -> %d ready %d: %s", s.Name, s.Current, s.Desired, s.Ready, reasonLines(s.Reasons))
				}
			}
		}
	})
	frontend := scaler.AdapterName(e2eDGD, e2eFrontend)

	// Steady: the first ticks need a full 10 s window of scrapes; then 15 req/s keeps 2 frontends.
	steadyTick(t, td, 2, 60*time.Second)

	step := time.Now()
	w.setLoad(3 * e2eBaseRate)
	first := w.writes.waitFor(t, frontend, step, 60*time.Second, func(n int32) bool { return n > 2 })
	peak := w.writes.waitFor(t, frontend, step, 60*time.Second, func(n int32) bool { return n == 5 })
	down := time.Now()
	w.setLoad(e2eBaseRate)
	back := w.writes.waitFor(t, frontend, down, 90*time.Second, func(n int32) bool { return n == 2 })
	t.Logf("reaction to a 3x load step (interval %s, scrape %s, window 10s): first /scale write after %s (-> %d), "+
		"target 5 reached after %s; back to 2 after %s of the step down (scale-down window 12s)",
		e2eInterval, e2eScrape, first.at.Sub(step).Round(time.Millisecond), first.replicas,
		peak.at.Sub(step).Round(time.Millisecond), back.at.Sub(down).Round(time.Millisecond))
	fmt.Printf("E2E reaction: first write %s, target reached %s, scale-down %s\n",
		first.at.Sub(step).Round(time.Millisecond), peak.at.Sub(step).Round(time.Millisecond), back.at.Sub(down).Round(time.Millisecond))

	checkNoDGDWrites(t, w)
	checkOps(t, td)
	checkEvent(t, w, frontend, scaler.ReasonScaled)
	td.stop()

	// The same world in dry-run: the step up is decided and checked with the API server (a
	// DryRunScale Event), and nothing is persisted.
	applied := len(w.writes.all())
	f.dryRun = true
	dry := w.startTidal(f, &logs)
	w.setLoad(3 * e2eBaseRate)
	checkEvent(t, w, frontend, scaler.ReasonDryRun)
	if tk, ok := dry.loop.Latest("e2e"); !ok || tk.Outcome != planner.OutcomeDryRun {
		t.Errorf("dry-run tick outcome %q, want %q", tk.Outcome, planner.OutcomeDryRun)
	}
	if got := w.writes.all(); len(got) != applied {
		t.Errorf("writes %v: the dry run persisted something (want only the first %d)", got, applied)
	}
}

func reasonLines(rs []planner.Reason) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("\n  " + r.Detail())
	}
	return b.String()
}

// steadyTick waits until the latest tick of the policy decided want frontends from known data.
func steadyTick(t *testing.T, td *tidal, want int32, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last planner.Tick
	for time.Now().Before(deadline) {
		if tk, ok := td.loop.Latest("e2e"); ok {
			last = tk
			if s, ok := tk.Decision.Service(e2eFrontend); ok && !s.Held && s.Desired == want && s.Current == want {
				return
			}
		}
		<-time.After(100 * time.Millisecond) // waiting for real Prometheus data, not a timing
	}
	t.Fatalf("no steady decision of %d frontends within %s; last tick: %+v", want, limit, last.Decision)
}

// checkNoDGDWrites verifies tidal never wrote the DGD: its spec keeps the replicas it was created
// with (only the test, as operator, writes its status).
func checkNoDGDWrites(t *testing.T, w *e2eWorld) {
	t.Helper()
	dgd, err := w.dgds().Get(t.Context(), e2eDGD, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, _, _ := unstructured.NestedInt64(dgd.Object, "spec", "services", e2eFrontend, "replicas")
	if n != 2 || dgd.GetGeneration() != 1 {
		t.Errorf("the DGD's spec changed (frontend replicas %d, generation %d): tidal must write only the DGDSA", n, dgd.GetGeneration())
	}
}

// checkOps reads the ops endpoints of a running tidal.
func checkOps(t *testing.T, td *tidal) {
	t.Helper()
	for _, c := range []struct{ path, want string }{
		{"/healthz", "ok"},
		{"/readyz", "ok"},
		{"/metrics", `tidal_desired_replicas{deployment="qwen",namespace=`},
		{"/debug/decisions?policy=e2e&limit=1", `"code": "sized"`},
	} {
		code, body := td.get(t, c.path)
		if code != http.StatusOK || !strings.Contains(body, c.want) {
			t.Errorf("GET %s = %d, body lacks %q:\n%.2000s", c.path, code, c.want, body)
		}
	}
}

// checkEvent waits for an Event with the given reason and the decision's reasons on adapter.
func checkEvent(t *testing.T, w *e2eWorld, adapter, reason string) {
	t.Helper()
	kube, err := kubernetes.NewForConfig(w.cluster.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := kube.EventsV1().Events(w.ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs.Items {
			if e.Reason == reason && e.Regarding.Name == adapter && strings.Contains(e.Note, "size/sized") {
				return
			}
		}
		<-time.After(200 * time.Millisecond) // the event broadcaster writes asynchronously
	}
	t.Errorf("no %s Event with the decision's reasons on %s", reason, adapter)
}

// syncWriter is a goroutine-safe log buffer.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
