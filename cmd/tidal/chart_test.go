package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// The chart and its test values, relative to this package.
var (
	chartDir       = filepath.Join(repoRoot, "deploy", "helm", "tidal")
	chartLintVals  = filepath.Join(repoRoot, "testdata", "helm", "values-lint.yaml")
	chartTestCRDs  = filepath.Join(repoRoot, "testdata", "crds")
	helmVersion    = "v3.22.0"
	helmBinaryEnv  = "TIDAL_HELM"
	helmSkipEnvVar = "TIDAL_SKIP_HELM"
)

// helmBinary returns the helm CLI .ci/build-helm caches ($TIDAL_HELM overrides it). A missing
// binary fails the test with how to get it, or skips it when TIDAL_SKIP_HELM=1 says so.
func helmBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(helmBinaryEnv)
	if bin == "" {
		cache := os.Getenv(kubetest.CacheEnv)
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "tidal")
		}
		bin = filepath.Join(cache, "helm-"+helmVersion)
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(helmSkipEnvVar) == "1" {
			t.Skipf("helm not found at %s (%s=1)", bin, helmSkipEnvVar)
		}
		t.Fatalf("helm not found at %s: run `bash .ci/build-helm` (make deps does) or set %s", bin, helmBinaryEnv)
	}
	return bin
}

// helm runs the helm CLI and returns its stdout; err carries stderr.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), helmBinary(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &helmError{err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type helmError struct {
	err    error
	stderr string
}

func (e *helmError) Error() string { return e.err.Error() + ": " + e.stderr }

// render runs helm template and parses the manifests.
func render(t *testing.T, namespace string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helm(t, append([]string{"template", "tidal", chartDir, "--namespace", namespace}, args...)...)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	path := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := kubetest.ReadManifests(path)
	if err != nil {
		t.Fatalf("the rendered chart does not parse: %v\n%s", err, out)
	}
	return objs
}

// find returns the rendered object of a kind (and name suffix), or fails.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, nameSuffix string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && strings.HasSuffix(o.GetName(), nameSuffix) {
			return o
		}
	}
	t.Fatalf("no %s named *%s rendered", kind, nameSuffix)
	return nil
}

// containerArgs returns the args of the first container of a Deployment or Pod.
func containerArgs(t *testing.T, o *unstructured.Unstructured) []string {
	t.Helper()
	path := []string{"spec", "template", "spec", "containers"}
	if o.GetKind() == "Pod" {
		path = []string{"spec", "containers"}
	}
	cs, _, _ := unstructured.NestedSlice(o.Object, path...)
	if len(cs) == 0 {
		t.Fatalf("%s %s has no container", o.GetKind(), o.GetName())
	}
	args, _, _ := unstructured.NestedStringSlice(cs[0].(map[string]any), "args")
	return args
}

func TestHelmChartLintAndTemplate(t *testing.T) {
	if out, err := helm(t, "lint", chartDir, "--strict", "--values", chartLintVals); err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
	t.Run("refuses to render without policies", func(t *testing.T) {
		_, err := helm(t, "template", "tidal", chartDir)
		if err == nil || !strings.Contains(err.Error(), "set policies") {
			t.Errorf("helm template without policies: %v, want a failure asking for policies", err)
		}
	})
	objs := render(t, "tidal-system", "--values", chartLintVals)
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
	}
	slices.Sort(kinds)
	wantKinds := []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "ConfigMap", "Deployment", "Pod",
		"PodDisruptionBudget", "PodMonitor", "PrometheusRule", "Role", "RoleBinding", "Service", "Service",
		"ServiceAccount", "ServiceMonitor"}
	if diff := cmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("rendered kinds (-want +got):\n%s", diff)
	}
	dep := find(t, objs, "Deployment", "tidal")
	t.Run("deployment", func(t *testing.T) { checkDeployment(t, dep) })
	t.Run("KEDA service and TLS", func(t *testing.T) { checkKEDA(t, objs, dep) })
	t.Run("alerts and dashboard are the shipped files", func(t *testing.T) { checkMonitoringObjects(t, objs) })
	t.Run("helm test runs the doctor as tidal", func(t *testing.T) {
		args := containerArgs(t, find(t, objs, "Pod", "doctor"))
		for _, want := range []string{"doctor", "--service-account=self", "--lease-name=tidal", "--lease-namespace=tidal-system"} {
			if !slices.Contains(args, want) {
				t.Errorf("the doctor pod's args %v lack %q", args, want)
			}
		}
	})
}

// checkDeployment checks replicas, leader election, probes, security and the mounts.
func checkDeployment(t *testing.T, dep *unstructured.Unstructured) {
	if replicas, _, _ := unstructured.NestedFieldNoCopy(dep.Object, "spec", "replicas"); fmt.Sprint(replicas) != "2" {
		t.Errorf("replicas %v, want 2", replicas)
	}
	args := containerArgs(t, dep)
	for _, want := range []string{"run", "--policies=/etc/tidal/policies", "--leader-elect", "--lease-name=tidal", "--lease-namespace=tidal-system"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %q", args, want)
		}
	}
	if _, code, done := parseRunFlags(args[1:], &bytes.Buffer{}, &bytes.Buffer{}); done {
		t.Errorf("tidal run rejects the chart's args %v (exit %d)", args, code)
	}
	c := firstContainer(t, dep)
	for _, f := range [][]string{{"securityContext", "readOnlyRootFilesystem"}, {"livenessProbe", "httpGet"}, {"readinessProbe", "httpGet"}, {"resources", "requests"}} {
		if _, ok, _ := unstructured.NestedFieldNoCopy(c, f...); !ok {
			t.Errorf("the container lacks %s", strings.Join(f, "."))
		}
	}
	mounts, _, _ := unstructured.NestedSlice(c, "volumeMounts")
	var paths []string
	for _, m := range mounts {
		p, _, _ := unstructured.NestedString(m.(map[string]any), "mountPath")
		paths = append(paths, p)
	}
	wantPaths := []string{"/etc/tidal/policies", "/profiles", "/profiles/h200-tp1", "/etc/tidal/keda-tls"}
	if diff := cmp.Diff(wantPaths, paths); diff != "" {
		t.Errorf("volume mounts (-want +got):\n%s", diff)
	}
	nonRoot, _, _ := unstructured.NestedBool(dep.Object, "spec", "template", "spec", "securityContext", "runAsNonRoot")
	if !nonRoot {
		t.Error("the pod does not require runAsNonRoot")
	}
}

func firstContainer(t *testing.T, dep *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	return cs[0].(map[string]any)
}

// checkKEDA checks the gRPC Service, the port and the TLS wiring.
func checkKEDA(t *testing.T, objs []*unstructured.Unstructured, dep *unstructured.Unstructured) {
	args := containerArgs(t, dep)
	for _, want := range []string{"--keda-listen=:9443", "--keda-tls-cert=/etc/tidal/keda-tls/tls.crt", "--keda-tls-key=/etc/tidal/keda-tls/tls.key"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %q", args, want)
		}
	}
	svc := find(t, objs, "Service", "-keda")
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if len(ports) != 1 {
		t.Fatalf("the KEDA Service has %d ports", len(ports))
	}
	p := ports[0].(map[string]any)
	if fmt.Sprint(p["port"]) != "9443" || p["targetPort"] != "keda" || p["appProtocol"] != "grpc" {
		t.Errorf("the KEDA Service port is %v, want 9443 -> keda (grpc)", p)
	}
	vols, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "volumes")
	found := false
	for _, v := range vols {
		name, _, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName")
		found = found || name == "tidal-keda-tls"
	}
	if !found {
		t.Error("no volume mounts the Secret tidal-keda-tls")
	}
}

// checkMonitoringObjects checks that the PrometheusRule holds files/alerts.yaml's groups and the
// dashboard ConfigMap files/dashboard.json.
func checkMonitoringObjects(t *testing.T, objs []*unstructured.Unstructured) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "files", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := yaml.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	rule := find(t, objs, "PrometheusRule", "tidal")
	got, _, _ := unstructured.NestedSlice(rule.Object, "spec", "groups")
	if len(got) == 0 || len(got) != len(want["groups"].([]any)) {
		t.Errorf("the PrometheusRule has %d groups, files/alerts.yaml %d", len(got), len(want["groups"].([]any)))
	}
	dash := find(t, objs, "ConfigMap", "-dashboard")
	data, _, _ := unstructured.NestedString(dash.Object, "data", "tidal.json")
	file, err := os.ReadFile(filepath.Join(chartDir, "files", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(data) != strings.TrimSpace(string(file)) {
		t.Error("the dashboard ConfigMap differs from files/dashboard.json")
	}
}
