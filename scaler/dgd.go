package scaler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/tidal-planner/tidal/planner"
)

// The Dynamo resources tidal reads and writes (nvidia.com/v1alpha1, namespaced; see
// ../shared/crds and DESIGN.md §1).
var (
	// DeploymentResource is DynamoGraphDeployment (DGD).
	DeploymentResource = schema.GroupVersionResource{
		Group: "nvidia.com", Version: "v1alpha1", Resource: "dynamographdeployments",
	}
	// AdapterResource is DynamoGraphDeploymentScalingAdapter (DGDSA), written through /scale.
	AdapterResource = schema.GroupVersionResource{
		Group: "nvidia.com", Version: "v1alpha1", Resource: "dynamographdeploymentscalingadapters",
	}
)

// AdapterName returns the name of the DGDSA the Dynamo operator creates for a DGD service:
// <dgd>-<lowercase(service)>.
func AdapterName(deployment, service string) string {
	return deployment + "-" + strings.ToLower(service)
}

// Deployment is what tidal reads of one DGD.
type Deployment struct {
	Namespace, Name string
	UID             types.UID
	// Generation is metadata.generation; ObservedGeneration is status.observedGeneration (0 if
	// the operator has not reported yet).
	Generation, ObservedGeneration int64
	// State is status.state (initializing, pending, successful, failed; "" if unset).
	State string
	// Ready is true when status.conditions has type Ready with status True; ReadyReason and
	// ReadyMessage come from that condition ("" when it is absent).
	Ready                     bool
	ReadyReason, ReadyMessage string
	// Services holds spec.services joined with status.services, sorted by name.
	Services []Service
}

// Service is one DGD service.
type Service struct {
	Name string
	// ComponentType is spec componentType (frontend, worker, planner, main, default);
	// SubComponentType is prefill or decode for disaggregated workers ("" otherwise).
	ComponentType, SubComponentType string
	// Replicas is spec.replicas (HasReplicas false when the field is absent).
	Replicas    int32
	HasReplicas bool
	// AdapterEnabled is spec scalingAdapter.enabled: a DGDSA owns this service's replicas.
	AdapterEnabled bool
	// NodeCount is multinode.nodeCount (1 for a single-node service); GPUsPerNode is
	// resources.limits.gpu, else resources.requests.gpu (0 when neither parses as a count).
	NodeCount, GPUsPerNode int32
	// Status is status.services[name]; Known is false when the operator has not reported it.
	Status ServiceStatus
	// Adapter is the service's DGDSA as read through /scale (filled by Observe only).
	Adapter AdapterState
}

// AdapterState is what the DGDSA's scale subresource says.
type AdapterState struct {
	// Found is true when the DGDSA was read.
	Found bool
	// Unreadable is true when reading it failed or it does not exist although the service
	// enables it: the service's replicas are unknown this tick (never read from the DGD instead).
	Unreadable bool
	// Replicas is spec.replicas (what tidal or another autoscaler asked for); StatusReplicas is
	// status.replicas, which mirrors the DGD service's replicas, not ready pods.
	Replicas, StatusReplicas int32
}

// GPUsPerReplica is NodeCount x GPUsPerNode (0 when the GPU count is unknown).
func (s Service) GPUsPerReplica() int32 { return s.NodeCount * s.GPUsPerNode }

// ServiceStatus is the operator's view of a service's pods.
type ServiceStatus struct {
	Known                                                       bool
	Replicas, UpdatedReplicas, ReadyReplicas, AvailableReplicas int32
}

// Service returns the service by name.
func (d Deployment) Service(name string) (Service, bool) {
	i := slices.IndexFunc(d.Services, func(s Service) bool { return s.Name == name })
	if i < 0 {
		return Service{}, false
	}
	return d.Services[i], true
}

// Observation returns what the planner sees of a service: Desired is the DGDSA's spec.replicas
// when Observe read it, else the DGD's spec.replicas (which the adapter controller keeps equal to
// it, with a delay); Ready is status readyReplicas. ReplicasKnown is false when the service or
// both replica counts are absent.
func (d Deployment) Observation(name string) planner.ServiceObservation {
	s, ok := d.Service(name)
	if !ok {
		return planner.ServiceObservation{Name: name}
	}
	o := planner.ServiceObservation{
		Name:           name,
		Desired:        s.Replicas,
		Ready:          s.Status.ReadyReplicas,
		ReplicasKnown:  s.HasReplicas,
		GPUsPerReplica: s.GPUsPerReplica(),
	}
	switch {
	case s.Adapter.Found:
		o.Desired, o.ReplicasKnown = s.Adapter.Replicas, true
	case s.Adapter.Unreadable:
		o.Desired, o.ReplicasKnown = 0, false
	}
	return o
}

// ParseDeployment extracts a Deployment from a DGD object. It is pure and never panics on odd
// input: a field of the wrong type reads as absent.
func ParseDeployment(u *unstructured.Unstructured) Deployment {
	d := Deployment{Namespace: u.GetNamespace(), Name: u.GetName(), UID: u.GetUID(), Generation: u.GetGeneration()}
	d.ObservedGeneration, _, _ = unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	d.State, _, _ = unstructured.NestedString(u.Object, "status", "state")
	conds, _ := noCopy(u.Object, "status", "conditions").([]any)
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == "Ready" {
			d.Ready = cm["status"] == "True"
			d.ReadyReason, _ = cm["reason"].(string)
			d.ReadyMessage, _ = cm["message"].(string)
		}
	}
	specs, _ := noCopy(u.Object, "spec", "services").(map[string]any)
	statuses, _ := noCopy(u.Object, "status", "services").(map[string]any)
	for name, raw := range specs {
		spec, _ := raw.(map[string]any)
		st, _ := statuses[name].(map[string]any)
		d.Services = append(d.Services, parseService(name, spec, st))
	}
	slices.SortFunc(d.Services, func(a, b Service) int { return cmp.Compare(a.Name, b.Name) })
	return d
}

// parseService reads one spec.services entry and its status.
func parseService(name string, spec, status map[string]any) Service {
	s := Service{Name: name, NodeCount: 1}
	s.ComponentType, _, _ = unstructured.NestedString(spec, "componentType")
	s.SubComponentType, _, _ = unstructured.NestedString(spec, "subComponentType")
	if r, ok := int32Field(spec, "replicas"); ok {
		s.Replicas, s.HasReplicas = r, true
	}
	s.AdapterEnabled, _, _ = unstructured.NestedBool(spec, "scalingAdapter", "enabled")
	if _, ok := spec["multinode"].(map[string]any); ok {
		if n, ok := int32Field(spec, "multinode", "nodeCount"); ok {
			s.NodeCount = n
		}
	}
	s.GPUsPerNode = gpuCount(spec, "limits")
	if s.GPUsPerNode == 0 {
		s.GPUsPerNode = gpuCount(spec, "requests")
	}
	if status != nil {
		s.Status.Known = true
		s.Status.Replicas, _ = int32Field(status, "replicas")
		s.Status.UpdatedReplicas, _ = int32Field(status, "updatedReplicas")
		s.Status.ReadyReplicas, _ = int32Field(status, "readyReplicas")
		s.Status.AvailableReplicas, _ = int32Field(status, "availableReplicas")
	}
	return s
}

// noCopy returns the value at path, or nil. Unlike unstructured.NestedMap and NestedSlice it
// does not deep-copy, which panics on values that are not JSON types.
func noCopy(m map[string]any, path ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(m, path...)
	return v
}

// int32Field reads an integer field (JSON numbers decode as int64 or float64).
func int32Field(m map[string]any, path ...string) (int32, bool) {
	v, ok, err := unstructured.NestedFieldNoCopy(m, path...)
	if !ok || err != nil {
		return 0, false
	}
	switch n := v.(type) {
	case int64:
		return int32(n), true
	case float64:
		return int32(n), true
	case int32:
		return n, true
	case int:
		return int32(n), true
	}
	return 0, false
}

// gpuCount reads resources.<which>.gpu, a string holding a whole number of GPUs.
func gpuCount(spec map[string]any, which string) int32 {
	v, _, _ := unstructured.NestedString(spec, "resources", which, "gpu")
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil || n < 0 {
		return 0
	}
	return int32(n)
}

// ReadDeployment gets a DGD and parses it. A missing DGD is an *Error of kind
// ErrDeploymentMissing; a 403 is ErrForbidden.
func ReadDeployment(ctx context.Context, client dynamic.Interface, namespace, name string) (Deployment, error) {
	u, err := client.Resource(DeploymentResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Deployment{}, &Error{Kind: ErrDeploymentMissing, Op: "reading the DGD", Namespace: namespace, Name: name, Err: err}
	}
	if err != nil {
		return Deployment{}, apiError("reading the DGD", namespace, name, err)
	}
	return ParseDeployment(u), nil
}

// String renders a one-line summary for logs.
func (d Deployment) String() string {
	return fmt.Sprintf("%s/%s (ready=%v, %d services)", d.Namespace, d.Name, d.Ready, len(d.Services))
}

// Observe reads a DGD and, for each service that enables its scaling adapter, the DGDSA's /scale,
// so Observation reports the replica count actually requested. A DGD that cannot be read returns
// an *Error and a zero Deployment; a DGDSA that is missing (ErrAdapterMissing) or cannot be read
// (a 403 included) marks only its service Unreadable, so the others stay known, and the *Errors
// are joined in err. It sends 1 + (services with an adapter) GET requests.
func Observe(ctx context.Context, client dynamic.Interface, namespace, name string) (Deployment, error) {
	d, err := ReadDeployment(ctx, client, namespace, name)
	if err != nil {
		return d, err
	}
	ri := client.Resource(AdapterResource).Namespace(namespace)
	var errs []error
	for i, s := range d.Services {
		if !s.AdapterEnabled {
			continue
		}
		adapter := AdapterName(name, s.Name)
		u, err := ri.Get(ctx, adapter, metav1.GetOptions{}, "scale")
		if apierrors.IsNotFound(err) {
			d.Services[i].Adapter.Unreadable = true
			errs = append(errs, &Error{Kind: ErrAdapterMissing, Op: "reading the DGDSA scale of " + s.Name,
				Namespace: namespace, Name: adapter, Err: err})
			continue
		}
		var scale *autoscalingv1.Scale
		if err == nil {
			scale, err = toScale(u)
		}
		if err != nil {
			d.Services[i].Adapter.Unreadable = true
			errs = append(errs, apiError("reading the DGDSA scale", namespace, adapter, err))
			continue
		}
		d.Services[i].Adapter = AdapterState{Found: true, Replicas: scale.Spec.Replicas, StatusReplicas: scale.Status.Replicas}
	}
	return d, errors.Join(errs...)
}
