package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/clock"

	"github.com/tidal-planner/tidal/cmd/tidal/doctor"
	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/metrics/promtest"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// chartValues are the install values of TestHelmChartInstalled: one policy scaling a frontend of
// DGD qwen in namespace ns by its request rate (10 requests/s per replica), in apply mode.
func chartValues(ns, promURL string) string {
	return fmt.Sprintf(`prometheusURL: %q
backfill: false
policies:
  qwen.yaml:
    apiVersion: tidal.dev/v1alpha1
    kind: Policy
    metadata: {name: qwen}
    spec:
      target: {namespace: %s, deployment: qwen, topology: aggregated}
      mode: apply
      services:
        - {name: Frontend, role: frontend, minReplicas: 1, maxReplicas: 5, requestsPerSecondPerReplica: 10, startupTime: 2s}
        - {name: Worker, role: aggregated, minReplicas: 1, maxReplicas: 4, startupTime: 2s}
      slo: {ttft: {target: 2s}, itl: {target: 100ms}}
      metrics: {model: qwen, window: 10s, prometheus: {timeout: 2s}}
      planning: {interval: 2s, headroom: 0, forecast: {method: last, seasonality: 1m, history: 2m}}
`, promURL, ns)
}

// TestHelmChartInstalled installs the chart with helm into a real kube-apiserver (no other RBAC), then
// runs tidal with the arguments the chart's Deployment gives it, the policies of the chart's
// ConfigMap, and a token of the chart's ServiceAccount: tidal must elect itself leader, read the
// DGD, write the DGDSA's scale and record an Event without a single error, which proves the
// chart's permissions suffice. tidal doctor, as that ServiceAccount, must find its RBAC complete.
func TestHelmChartInstalled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd, kube-apiserver and Prometheus")
	}
	helmBinary(t)
	c, err := kubetest.Start(t.Context(), kubetest.Options{CRDs: []string{chartTestCRDs}})
	if err != nil {
		t.Fatalf("starting kube-apiserver: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	ctx := t.Context()
	release, err := c.CreateNamespace(ctx, "tidal")
	if err != nil {
		t.Fatal(err)
	}
	llm, err := c.CreateNamespace(ctx, "llm")
	if err != nil {
		t.Fatal(err)
	}
	exp := promtest.NewExporterT(t)
	exp.Set(promtest.Deployment{Model: "qwen", Namespace: llm + "-qwen", RequestRate: 25,
		InputTokens: promtest.Uniform{Lo: 900, Hi: 1100}, OutputTokens: promtest.Uniform{Lo: 90, Hi: 110},
		TTFT: promtest.Uniform{Lo: 0.05, Hi: 0.15}, ITL: promtest.Uniform{Lo: 0.005, Hi: 0.01},
		Frontends: []promtest.Frontend{{Inflight: 5}}})
	prom := promtest.StartT(t, promtest.Config{Targets: []string{exp.Addr()}})

	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(chartValues(llm, prom.URL())), 0o644); err != nil {
		t.Fatal(err)
	}
	objs := render(t, release, "--values", values)
	// helm install, as the README says, against the real API server with an admin kubeconfig.
	admKubeconfig := writeKubeconfig(t, c.Config(kubetest.Admin))
	if out, err := helm(t, "install", "tidal", chartDir, "--namespace", release, "--values", values,
		"--kubeconfig", admKubeconfig); err != nil {
		t.Fatalf("helm install: %v\n%s", err, out)
	}
	createQwen(t, c, llm)
	sa := saConfig(t, c, release, "tidal")

	ps := chartPolicies(t, find(t, objs, "ConfigMap", "-policies"))
	args := containerArgs(t, find(t, objs, "Deployment", "tidal"))
	f, code, done := parseRunFlags(localArgs(args[1:], ps.dir), &bytes.Buffer{}, &bytes.Buffer{})
	if done {
		t.Fatalf("tidal run rejects the chart's args %v (exit %d)", args, code)
	}
	logs := &syncBuffer{}
	rec := runChartTidal(t, f, ps.loaded, sa, logs)
	admin, err := dynamic.NewForConfig(c.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	waitScale(t, admin, llm, scaler.AdapterName("qwen", "Frontend"), 2, logs)
	checkChartRun(t, c, rec, release, llm, logs)
	checkChartDoctor(t, sa, release, ps.dir, prom.URL())
}

// localArgs adapts the Deployment's args to this process: the policies directory is a local copy
// of the ConfigMap (the ops listener is given to serve directly).
func localArgs(args []string, policiesDir string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if strings.HasPrefix(a, "--policies=") {
			a = "--policies=" + policiesDir
		}
		out = append(out, a)
	}
	return out
}

// loadedPolicies are the chart ConfigMap's policies, written to a directory and loaded.
type loadedPolicies struct {
	dir    string
	loaded []policies.Policy
}

// chartPolicies writes the ConfigMap's files to a directory, as the kubelet mounts them, and
// loads them as tidal run does.
func chartPolicies(t *testing.T, cm *unstructured.Unstructured) loadedPolicies {
	t.Helper()
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	dir := t.TempDir()
	for name, content := range data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := policies.Load(dir)
	if err != nil {
		t.Fatalf("the chart's policies ConfigMap does not load: %v", err)
	}
	return loadedPolicies{dir: dir, loaded: ps}
}

// saConfig returns a client configuration authenticating with a token of the ServiceAccount
// (TokenRequest), as a pod of the chart's Deployment would.
func saConfig(t *testing.T, c *kubetest.Cluster, ns, name string) *rest.Config {
	t.Helper()
	kube, err := kubernetes.NewForConfig(c.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	ttl := int64(3600)
	tok, err := kube.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &ttl}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token of ServiceAccount %s/%s: %v", ns, name, err)
	}
	cfg := c.Config(kubetest.Admin)
	cfg.BearerToken = tok.Status.Token
	cfg.UserAgent = "tidal-chart-test"
	return cfg
}

// createQwen creates DGD qwen with a ready Frontend and Worker of one replica each, behind their
// DGDSAs.
func createQwen(t *testing.T, c *kubetest.Cluster, ns string) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	spec, status := map[string]any{}, map[string]any{}
	for name, kind := range map[string]string{"Frontend": "frontend", "Worker": "worker"} {
		spec[name] = map[string]any{"componentType": kind, "replicas": int64(1), "scalingAdapter": map[string]any{"enabled": true},
			"resources": map[string]any{"limits": map[string]any{"gpu": "1"}}}
		status[name] = map[string]any{"replicas": int64(1), "readyReplicas": int64(1), "availableReplicas": int64(1), "updatedReplicas": int64(1)}
		_, err = dyn.Resource(scaler.AdapterResource).Namespace(ns).Create(t.Context(), &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter",
			"metadata": map[string]any{"name": scaler.AdapterName("qwen", name)},
			"spec":     map[string]any{"replicas": int64(1), "dgdRef": map[string]any{"name": "qwen", "serviceName": name}},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating the DGDSA of %s: %v", name, err)
		}
	}
	dgds := dyn.Resource(scaler.DeploymentResource).Namespace(ns)
	dgd, err := dgds.Create(t.Context(), &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
		"metadata": map[string]any{"name": "qwen"}, "spec": map[string]any{"services": spec},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the DGD: %v", err)
	}
	dgd.Object["status"] = map[string]any{"state": "successful", "services": status,
		"conditions": []any{map[string]any{"type": "Ready", "status": "True", "reason": "AllServicesReady", "message": "ready",
			"lastTransitionTime": "2026-03-02T10:00:00Z"}}}
	if _, err := dgds.UpdateStatus(t.Context(), dgd, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("writing the DGD status: %v", err)
	}
}

// runChartTidal runs serve with the chart's flags as the ServiceAccount until the test ends. Like
// the end-to-end test, it sizes without forecasts so the expected count is exact.
func runChartTidal(t *testing.T, f runFlags, ps []policies.Policy, cfg *rest.Config, logs *syncBuffer) *ops.Recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan *ops.Recorder, 1)
	d := deps{clock: clock.RealClock{}, rest: cfg, listener: ln,
		logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		started: func(_ *planner.Loop, r *ops.Recorder) { started <- r },
		newState: func(p policies.Policy) planner.State {
			return planner.NewState(p, planner.Options{NewForecaster: func(policies.Forecast, time.Duration) forecast.Forecaster { return nil }})
		}}
	go func() { done <- serve(ctx, f, overridePrometheus(ps, f.prometheusURL), d) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("tidal run returned %v", err)
		}
	})
	select {
	case r := <-started:
		return r
	case err := <-done:
		t.Fatalf("tidal run stopped at start: %v", err)
	}
	return nil
}

// syncBuffer is a bytes.Buffer safe for tidal's logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitScale waits until the DGDSA's spec.replicas is at least want (tidal wrote it: 25 requests/s
// at 10 per replica goes 1 -> 2 -> 3 as the window fills, and the second step waits for the
// first to become ready, which no operator does here), or fails after 90 s.
func waitScale(t *testing.T, admin dynamic.Interface, ns, adapter string, want int64, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var got int64
	for time.Now().Before(deadline) {
		u, err := admin.Resource(scaler.AdapterResource).Namespace(ns).Get(t.Context(), adapter, metav1.GetOptions{})
		if err == nil {
			if got, _, _ = unstructured.NestedInt64(u.Object, "spec", "replicas"); got >= want {
				return
			}
		}
		<-time.After(200 * time.Millisecond) // waiting for tidal's write through a real API server, not a timing
	}
	t.Fatalf("DGDSA %s/%s stayed at %d replicas, want at least %d written by tidal; logs:\n%s", ns, adapter, got, want, logs.String())
}

// checkChartRun checks what the ServiceAccount's rights allowed: the Lease is held by tidal, an
// Event was recorded, and no tick recorded an error.
func checkChartRun(t *testing.T, c *kubetest.Cluster, rec *ops.Recorder, release, llm string, logs *syncBuffer) {
	t.Helper()
	kube, err := kubernetes.NewForConfig(c.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	lease, err := kube.CoordinationV1().Leases(release).Get(t.Context(), "tidal", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Errorf("Lease %s/tidal not held (err %v): leader election failed with the chart's RBAC", release, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := kube.EventsV1().Events(llm).List(t.Context(), metav1.ListOptions{})
		if err == nil && len(evs.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("no Event recorded in %s (err %v): events.k8s.io create denied?", llm, err)
			break
		}
		<-time.After(200 * time.Millisecond) // the event broadcaster writes asynchronously
	}
	for _, d := range rec.Decisions("qwen", 0) {
		for _, e := range d.Errors {
			t.Errorf("tick at %s: %s error (%s): %s", d.Time.Format(time.TimeOnly), e.Stage, e.Kind, e.Error)
		}
	}
	if strings.Contains(logs.String(), "forbidden") {
		t.Errorf("tidal logged a forbidden request:\n%s", logs.String())
	}
}

// checkChartDoctor runs `tidal doctor --service-account self` with a kubeconfig holding the
// chart's ServiceAccount token (what the chart's helm test does in the cluster): it must exit 0,
// and its RBAC checks, for the policy and for the Lease, must pass.
func checkChartDoctor(t *testing.T, cfg *rest.Config, release, policyDir, promURL string) {
	t.Helper()
	kubeconfig := writeKubeconfig(t, cfg)
	var stdout, stderr bytes.Buffer
	code := dispatch(t.Context(), []string{"doctor", "--policies", policyDir, "--kubeconfig", kubeconfig,
		"--service-account", "self", "--lease-namespace", release, "--prometheus-url", promURL, "--output", "json"}, &stdout, &stderr)
	var report struct {
		Results []doctor.Result `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("tidal doctor printed no JSON report (exit %d): %v\n%s%s", code, err, stdout.String(), stderr.String())
	}
	if code != 0 {
		t.Errorf("tidal doctor as the chart's ServiceAccount exited %d:\n%s", code, stdout.String())
	}
	n := 0
	for _, r := range report.Results {
		if r.Check == doctor.CheckRBAC {
			n++
		}
		if (r.Check == doctor.CheckRBAC || r.Check == doctor.CheckDeployment || r.Check == doctor.CheckAdapter) && r.Status != doctor.OK {
			t.Errorf("doctor as the chart's ServiceAccount: %s %s %s: %s", r.Check, r.Subject, r.Status, r.Detail)
		}
	}
	if n != 2 {
		t.Errorf("%d RBAC results, want 2 (the Lease and the policy)\n%s", n, stdout.String())
	}
}

// writeKubeconfig writes a kubeconfig file for a client configuration (server, CA, bearer token).
func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["user"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "user"}
	kc.CurrentContext = "test"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}
