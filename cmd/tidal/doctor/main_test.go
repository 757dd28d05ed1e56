package doctor_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/tidal-planner/tidal/cmd/tidal/doctor"
	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/metrics/promtest"
	"github.com/tidal-planner/tidal/policies"
	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// cluster is the package's etcd + kube-apiserver with the Dynamo and KEDA CRDs (minimal
// fixtures, testdata/crds) and tidal's shipped RBAC (deploy/rbac) applied.
var cluster *kubetest.Cluster

// Paths relative to this package: the repository root is "../../..".
var (
	crdDir  = filepath.Join("..", "..", "..", "testdata", "crds")
	rbacDir = filepath.Join("..", "..", "..", "deploy", "rbac")
)

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, kubetest.Options{CRDs: []string{crdDir}, Manifests: []string{rbacDir}}, &cluster))
}

// dgdName is the DynamoGraphDeployment every case creates in its own namespace.
const dgdName = "llm"

// world is one case's namespace, clients and the shared Prometheus.
type world struct {
	t        *testing.T
	ns       string
	kube     kubernetes.Interface
	dyn      dynamic.Interface
	prom     *promtest.Server
	exporter *promtest.Exporter
}

// newWorld creates a namespace for a case.
func newWorld(t *testing.T, prom *promtest.Server, exp *promtest.Exporter) *world {
	t.Helper()
	c := kubetest.Require(t, cluster)
	ns, err := c.CreateNamespace(t.Context(), "doctor")
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(c.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, ns: ns, kube: kube, dyn: dyn, prom: prom, exporter: exp}
}

// model is the case's model label value: one per namespace, so cases never see each other's data.
func (w *world) model() string { return "model-" + w.ns }

// serveLoad makes the exporter emit healthy traffic for the case's model and DGD.
func (w *world) serveLoad() {
	w.exporter.Set(promtest.Deployment{
		Model: w.model(), Namespace: w.ns + "-" + dgdName, RequestRate: 8,
		InputTokens: promtest.Uniform{Lo: 900, Hi: 1100}, OutputTokens: promtest.Uniform{Lo: 90, Hi: 110},
		TTFT: promtest.Uniform{Lo: 0.05, Hi: 0.15}, ITL: promtest.Uniform{Lo: 0.005, Hi: 0.01},
		Frontends: []promtest.Frontend{{Queued: 0, Inflight: 4}},
		Workers:   []promtest.Worker{{ID: "w0", Type: "decode", KVUsage: 0.3, ActiveDecodeBlocks: 100}},
	})
	w.t.Cleanup(func() { w.exporter.Remove(w.model(), w.ns+"-"+dgdName) })
}

// service is one DGD service of a case's deployment.
type service struct {
	name, componentType string
	replicas            int64
	gpus                string
	adapter             bool // scalingAdapter.enabled
	createAdapter       bool // the operator created the DGDSA
}

// createDGD creates the DGD, its status (Ready as given) and the DGDSAs the operator would create.
func (w *world) createDGD(ready bool, services ...service) {
	t := w.t
	spec, status := map[string]any{}, map[string]any{}
	for _, s := range services {
		spec[s.name] = map[string]any{"componentType": s.componentType, "replicas": s.replicas,
			"scalingAdapter": map[string]any{"enabled": s.adapter}, "resources": map[string]any{"limits": map[string]any{"gpu": s.gpus}}}
		status[s.name] = map[string]any{"replicas": s.replicas, "updatedReplicas": s.replicas, "readyReplicas": s.replicas, "availableReplicas": s.replicas}
	}
	dgd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeployment",
		"metadata": map[string]any{"name": dgdName, "namespace": w.ns},
		"spec":     map[string]any{"services": spec},
	}}
	dgds := w.dyn.Resource(scaler.DeploymentResource).Namespace(w.ns)
	created, err := dgds.Create(t.Context(), dgd, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the DGD: %v", err)
	}
	cond := map[string]any{"type": "Ready", "status": "True", "reason": "AllServicesReady", "message": "ready", "lastTransitionTime": "2026-03-02T10:00:00Z"}
	if !ready {
		cond = map[string]any{"type": "Ready", "status": "False", "reason": "ServicesNotReady", "message": "Worker: 0/1 ready", "lastTransitionTime": "2026-03-02T10:00:00Z"}
	}
	created.Object["status"] = map[string]any{"state": "successful", "services": status, "conditions": []any{cond}}
	if _, err := dgds.UpdateStatus(t.Context(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("writing the DGD status: %v", err)
	}
	for _, s := range services {
		if s.createAdapter {
			w.create(scaler.AdapterResource, map[string]any{
				"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter",
				"metadata": map[string]any{"name": scaler.AdapterName(dgdName, s.name)},
				"spec":     map[string]any{"replicas": s.replicas, "dgdRef": map[string]any{"name": dgdName, "serviceName": s.name}},
			})
		}
	}
}

// create creates an object of resource gvr in the case's namespace as admin.
func (w *world) create(gvr schema.GroupVersionResource, obj map[string]any) {
	w.t.Helper()
	u := &unstructured.Unstructured{Object: obj}
	if _, err := w.dyn.Resource(gvr).Namespace(w.ns).Create(w.t.Context(), u, metav1.CreateOptions{}); err != nil {
		w.t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// createHPA creates an HPA whose scaleTargetRef is the DGDSA of a service.
func (w *world) createHPA(name, service string) {
	minR := int32(1)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "nvidia.com/v1alpha1",
				Kind: "DynamoGraphDeploymentScalingAdapter", Name: scaler.AdapterName(dgdName, service)},
			MinReplicas: &minR, MaxReplicas: 4,
		},
	}
	if _, err := w.kube.AutoscalingV2().HorizontalPodAutoscalers(w.ns).Create(w.t.Context(), hpa, metav1.CreateOptions{}); err != nil {
		w.t.Fatalf("creating HPA %s: %v", name, err)
	}
}

// createScaledObject creates a ScaledObject on the DGDSA of a service with the given triggers.
func (w *world) createScaledObject(name, service string, triggers ...map[string]any) {
	ts := make([]any, len(triggers))
	for i, t := range triggers {
		ts[i] = t
	}
	w.create(doctor.ScaledObjectResource, map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": map[string]any{"name": name},
		"spec": map[string]any{"scaleTargetRef": map[string]any{"apiVersion": "nvidia.com/v1alpha1",
			"kind": "DynamoGraphDeploymentScalingAdapter", "name": scaler.AdapterName(dgdName, service)}, "triggers": ts},
	})
}

// policyWithSpec builds the case's policy: the Worker service (aggregated) with the given
// actuation, extra spec lines, and model label.
func (w *world) policyWithSpec(actuation, extraSpec, model string) policies.Policy {
	w.t.Helper()
	src := fmt.Sprintf(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: p-%s}
spec:
  target: {namespace: %s, deployment: %s, topology: aggregated}
  services:
    - {name: Worker, role: aggregated, minReplicas: 1, maxReplicas: 8, actuation: %s}
  slo: {ttft: {target: 500ms}, itl: {target: 30ms}}
  metrics: {model: %s, window: 10s, prometheus: {url: %q, timeout: 5s}}
%s`, w.ns, w.ns, dgdName, actuation, model, w.prom.URL(), extraSpec)
	p, err := policies.Parse([]byte(src), w.ns+".yaml")
	if err != nil {
		w.t.Fatalf("the case's policy does not parse: %v\n%s", err, src)
	}
	return p
}

// policyWithModel is the default policy reading another model label.
func (w *world) policyWithModel(model string) policies.Policy {
	return w.policyWithSpec("scale", "", model)
}

// config is the doctor's configuration as an admin checking the shipped ServiceAccount.
func (w *world) config(serviceAccount string) doctor.Config {
	return doctor.Config{Kube: w.kube, Dynamic: w.dyn, Prometheus: metrics.New(metrics.Options{}), Timeout: 10 * time.Second,
		ServiceAccount: serviceAccount, LeaseNamespace: kubetest.TidalNamespace, LeaseName: "tidal"}
}

// waitForData runs the doctor until the policy's request rate is known (Prometheus has scraped
// twice within the window), or fails after a minute.
func waitForData(ctx context.Context, t *testing.T, cfg doctor.Config, p policies.Policy) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		for _, r := range doctor.Run(ctx, cfg, []policies.Policy{p}).Results {
			if r.Check == doctor.CheckSignal && r.Subject == string(policies.SignalOutputTokens) && r.Status == doctor.OK {
				return
			}
		}
		<-time.After(250 * time.Millisecond) // waiting for real Prometheus scrapes, not a timing
	}
	t.Fatal("Prometheus never had the output-token mean of the healthy deployment")
}

// key names a result for comparisons: "check subject".
func key(r doctor.Result) string { return strings.TrimSpace(r.Check + " " + r.Subject) }
