package doctor_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/cmd/tidal/doctor"
	"github.com/tidal-planner/tidal/metrics/promtest"
	"github.com/tidal-planner/tidal/policies"
)

// The deployment every healthy case starts from: a frontend and a one-GPU worker with two
// replicas, both behind scaling adapters.
var (
	frontend = service{name: "Frontend", componentType: "frontend", replicas: 1, gpus: "0", adapter: true, createAdapter: true}
	worker   = service{name: "Worker", componentType: "worker", replicas: 2, gpus: "1", adapter: true, createAdapter: true}
)

const shippedSA = "tidal-system/tidal"

// TestDoctor runs the checklist against a real kube-apiserver and a real Prometheus, on a healthy
// set-up and on one broken in each way the doctor must catch.
func TestDoctor(t *testing.T) {
	kubeCluster := cluster
	if kubeCluster == nil {
		t.Skip("no Kubernetes test cluster (-short)")
	}
	exp := promtest.NewExporterT(t)
	prom := promtest.StartT(t, promtest.Config{Targets: []string{exp.Addr()}})
	tests := []struct {
		name      string
		setup     func(w *world)
		actuation string
		spec      string // extra policy spec lines
		// mutate changes the policy or the doctor's configuration once data is flowing.
		mutate   func(w *world, p *policies.Policy, cfg *doctor.Config)
		wantFail []string
		// want are further results' statuses to check (keys as key() makes them).
		want map[string]doctor.Status
		// fixHas is text the fix of the first failure must contain (%s is the namespace).
		fixHas string
	}{
		{name: "healthy", setup: func(w *world) { w.createDGD(true, frontend, worker) },
			want: map[string]doctor.Status{"prometheus": doctor.OK, "signal requestRate": doctor.OK,
				"signal inputTokens": doctor.OK, "signal ttftPercentile": doctor.OK, "deployment": doctor.OK,
				"scaling-adapter Worker": doctor.OK, "rbac ServiceAccount " + shippedSA: doctor.OK,
				"competing-writers Worker": doctor.OK, "gpu-budget": doctor.OK}},
		{name: "DGD missing", setup: func(*world) {},
			wantFail: []string{"deployment"}, fixHas: "kubectl get dynamographdeployments -n %s",
			want: map[string]doctor.Status{"scaling-adapter Worker": doctor.Skip, "gpu-budget": doctor.Skip}},
		{name: "DGD not ready", setup: func(w *world) { w.createDGD(false, frontend, worker) },
			wantFail: []string{"deployment"}, fixHas: "kubectl describe dynamographdeployment -n %s llm"},
		{name: "scaling adapter disabled", setup: func(w *world) {
			w.createDGD(true, frontend, service{name: "Worker", componentType: "worker", replicas: 2, gpus: "1"})
		}, wantFail: []string{"scaling-adapter Worker"}, fixHas: "set spec.services.Worker.scalingAdapter.enabled: true"},
		{name: "DGDSA missing", setup: func(w *world) {
			w.createDGD(true, frontend, service{name: "Worker", componentType: "worker", replicas: 2, gpus: "1", adapter: true})
		}, wantFail: []string{"scaling-adapter Worker"}, fixHas: "kubectl get dgdsa -n %s"},
		{name: "an HPA writes the DGDSA", setup: func(w *world) {
			w.createDGD(true, frontend, worker)
			w.createHPA("worker-cpu", "Worker")
		}, wantFail: []string{"competing-writers Worker"}, fixHas: "kubectl delete hpa -n %s worker-cpu"},
		{name: "a ScaledObject writes the DGDSA", setup: func(w *world) {
			w.createDGD(true, frontend, worker)
			w.createScaledObject("worker-cpu", "Worker", map[string]any{"type": "cpu", "metadata": map[string]any{"value": "60"}})
		}, wantFail: []string{"competing-writers Worker"}, fixHas: "kubectl delete scaledobject -n %s worker-cpu"},
		{name: "actuation keda with tidal's ScaledObject", actuation: "keda", setup: func(w *world) {
			w.createDGD(true, frontend, worker)
			w.createScaledObject("worker-tidal", "Worker", map[string]any{"type": "external",
				"metadata": map[string]any{"scalerAddress": "tidal-keda.tidal-system.svc:9443", "policy": "p-" + w.ns, "service": "Worker"}})
		}, want: map[string]doctor.Status{"competing-writers Worker": doctor.OK}},
		{name: "actuation keda without a ScaledObject", actuation: "keda", setup: func(w *world) { w.createDGD(true, frontend, worker) },
			wantFail: []string{"competing-writers Worker"}, fixHas: "deploy/keda/20-scaledobject.yaml"},
		{name: "Dynamo's planner runs in the DGD", setup: func(w *world) {
			w.createDGD(true, frontend, worker, service{name: "Planner", componentType: "planner", replicas: 1, gpus: "0"})
		}, wantFail: []string{"competing-writers Worker"}, fixHas: "remove service Planner from DGD %s/llm"},
		{name: "minimums over the GPU budget", spec: "  budget: {maxGPUs: 1}\n", setup: func(w *world) {
			w.createDGD(true, frontend, service{name: "Worker", componentType: "worker", replicas: 2, gpus: "2", adapter: true, createAdapter: true})
		}, wantFail: []string{"gpu-budget"}, fixHas: "raise spec.budget.maxGPUs"},
		{name: "GPUs in use over the budget", spec: "  budget: {maxGPUs: 1}\n", setup: func(w *world) { w.createDGD(true, frontend, worker) },
			want: map[string]doctor.Status{"gpu-budget": doctor.Warn}},
		{name: "ServiceAccount without bindings", setup: func(w *world) { w.createDGD(true, frontend, worker) },
			mutate:   func(_ *world, _ *policies.Policy, cfg *doctor.Config) { cfg.ServiceAccount = "other/nobody" },
			wantFail: []string{"rbac ServiceAccount other/nobody", "rbac ServiceAccount other/nobody"}, fixHas: "deploy/rbac"},
		{name: "model label wrong", setup: func(w *world) { w.createDGD(true, frontend, worker) },
			mutate:   func(w *world, p *policies.Policy, _ *doctor.Config) { *p = w.policyWithModel("Model-Typo") },
			wantFail: []string{"signal inputTokens", "signal outputTokens", "signal requestRate"},
			fixHas:   `model="model-%s"`},
		{name: "Prometheus unreachable", setup: func(w *world) { w.createDGD(true, frontend, worker) },
			mutate:   func(_ *world, p *policies.Policy, _ *doctor.Config) { p.Metrics.PrometheusURL = "http://127.0.0.1:1" },
			wantFail: []string{"prometheus"}, fixHas: "--prometheus-url",
			want: map[string]doctor.Status{"signal": doctor.Skip, "deployment": doctor.OK}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, prom, exp)
			w.serveLoad()
			tc.setup(w)
			actuation := tc.actuation
			if actuation == "" {
				actuation = "scale"
			}
			p := w.policyWithSpec(actuation, tc.spec, w.model())
			cfg := w.config(shippedSA)
			waitForData(t.Context(), t, cfg, p)
			if tc.mutate != nil {
				tc.mutate(w, &p, &cfg)
			}
			report := doctor.Run(t.Context(), cfg, []policies.Policy{p})
			var text strings.Builder
			_ = report.WriteText(&text)
			var failed []string
			for _, r := range report.Results {
				if r.Status == doctor.Fail {
					failed = append(failed, key(r))
				}
			}
			slices.Sort(failed)
			if diff := cmp.Diff(tc.wantFail, failed); diff != "" {
				t.Errorf("failed checks (-want +got):\n%s\n%s", diff, text.String())
			}
			if report.Failed() != (len(tc.wantFail) > 0) {
				t.Errorf("Failed() = %v with failures %v", report.Failed(), failed)
			}
			got := map[string]doctor.Status{}
			for _, r := range report.Results {
				got[key(r)] = r.Status
			}
			for k, s := range tc.want {
				if got[k] != s {
					t.Errorf("%s is %q, want %q\n%s", k, got[k], s, text.String())
				}
			}
			if tc.fixHas != "" {
				checkFix(t, report, strings.ReplaceAll(tc.fixHas, "%s", w.ns), text.String())
			}
		})
	}
}

// checkFix asserts that some failure's fix contains want.
func checkFix(t *testing.T, report doctor.Report, want, text string) {
	t.Helper()
	for _, r := range report.Results {
		if r.Status == doctor.Fail && strings.Contains(r.Fix, want) {
			return
		}
	}
	t.Errorf("no failure's fix contains %q\n%s", want, text)
}
