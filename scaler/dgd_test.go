package scaler_test

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// fixture reads the single object of testdata/scaler/<name>.
func fixture(t testing.TB, name string) *unstructured.Unstructured {
	t.Helper()
	objs, err := kubetest.ReadManifests(filepath.Join("..", "testdata", "scaler", name))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("%s holds %d objects, want 1", name, len(objs))
	}
	return objs[0]
}

func TestParseDeployment(t *testing.T) {
	tests := []struct {
		name string
		file string
		want scaler.Deployment
	}{
		{
			name: "disaggregated, reconciled",
			file: "dgd-disagg.yaml",
			want: scaler.Deployment{
				Name: "llama", State: "successful",
				Ready: true, ReadyReason: "AllServicesReady", ReadyMessage: "All services are ready",
				Services: []scaler.Service{
					{
						Name: "Frontend", ComponentType: "frontend", Replicas: 1, HasReplicas: true, NodeCount: 1,
						Status: scaler.ServiceStatus{Known: true, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1},
					},
					{
						Name: "VllmDecodeWorker", ComponentType: "worker", SubComponentType: "decode",
						Replicas: 3, HasReplicas: true, AdapterEnabled: true, NodeCount: 2, GPUsPerNode: 4,
						Status: scaler.ServiceStatus{Known: true, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2},
					},
					{
						Name: "VllmPrefillWorker", ComponentType: "worker", SubComponentType: "prefill",
						Replicas: 2, HasReplicas: true, AdapterEnabled: true, NodeCount: 1, GPUsPerNode: 1,
						Status: scaler.ServiceStatus{Known: true, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2},
					},
				},
			},
		},
		{
			name: "aggregated, starting, GPU count unreadable",
			file: "dgd-starting.yaml",
			want: scaler.Deployment{
				Name: "agg", State: "pending", ReadyReason: "ServicesNotReady", ReadyMessage: "Worker is not ready",
				Services: []scaler.Service{
					{Name: "Worker", ComponentType: "worker", AdapterEnabled: true, NodeCount: 1},
				},
			},
		},
		{
			name: "empty object",
			want: scaler.Deployment{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &unstructured.Unstructured{Object: map[string]any{}}
			if tt.file != "" {
				u = fixture(t, tt.file)
			}
			if diff := cmp.Diff(tt.want, scaler.ParseDeployment(u)); diff != "" {
				t.Errorf("ParseDeployment (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseDeploymentToleratesWrongTypes(t *testing.T) {
	tests := []struct {
		name string
		obj  map[string]any
	}{
		{"services is a list", map[string]any{"spec": map[string]any{"services": []any{"x"}}}},
		{"service is a string", map[string]any{"spec": map[string]any{"services": map[string]any{"a": "x"}}}},
		{"replicas is a string", map[string]any{"spec": map[string]any{"services": map[string]any{
			"a": map[string]any{"replicas": "3", "multinode": "yes"}}}}},
		{"conditions hold junk", map[string]any{"status": map[string]any{"conditions": []any{1, "x", nil}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := scaler.ParseDeployment(&unstructured.Unstructured{Object: tt.obj})
			for _, s := range d.Services {
				if s.HasReplicas || s.GPUsPerReplica() != 0 {
					t.Errorf("service %s read replicas or GPUs from malformed fields: %+v", s.Name, s)
				}
			}
		})
	}
}

func TestGPUsPerReplica(t *testing.T) {
	d := scaler.ParseDeployment(fixture(t, "dgd-disagg.yaml"))
	tests := []struct {
		service string
		want    int32
	}{
		{"Frontend", 0},
		{"VllmPrefillWorker", 1},
		{"VllmDecodeWorker", 8}, // nodeCount 2 x limits.gpu 4 (limits win over requests)
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			s, ok := d.Service(tt.service)
			if !ok {
				t.Fatalf("no service %s", tt.service)
			}
			if got := s.GPUsPerReplica(); got != tt.want {
				t.Errorf("GPUsPerReplica = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestObservation(t *testing.T) {
	d := scaler.ParseDeployment(fixture(t, "dgd-disagg.yaml"))
	tests := []struct {
		service string
		want    planner.ServiceObservation
	}{
		{"VllmDecodeWorker", planner.ServiceObservation{
			Name: "VllmDecodeWorker", Desired: 3, Ready: 2, ReplicasKnown: true, GPUsPerReplica: 8}},
		{"Missing", planner.ServiceObservation{Name: "Missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, d.Observation(tt.service)); diff != "" {
				t.Errorf("Observation (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAdapterName(t *testing.T) {
	tests := []struct {
		deployment, service, want string
	}{
		{"llama", "VllmDecodeWorker", "llama-vllmdecodeworker"},
		{"agg", "worker", "agg-worker"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := scaler.AdapterName(tt.deployment, tt.service); got != tt.want {
				t.Errorf("AdapterName(%q, %q) = %q, want %q", tt.deployment, tt.service, got, tt.want)
			}
		})
	}
}
