package main

import (
	"context"
	"errors"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
	"github.com/tidal-planner/tidal/scaler"
)

// cluster adapts the scaler package to the planner loop's ports: it reads replica counts (the
// DGDSA's spec.replicas through /scale, readiness and GPUs from the DGD) and applies decisions
// through the scaler's /scale actuator. It is safe for concurrent use.
type cluster struct {
	client   dynamic.Interface
	actuator *scaler.Actuator
}

// Replicas implements planner.ReplicaReader. A service whose adapter is enabled reads Desired from
// its DGDSA (the source of truth); one without (actuation none or keda) reads the DGD's
// spec.replicas. A service that cannot be read is left unknown and its error joined.
func (c cluster) Replicas(ctx context.Context, p policies.Policy) ([]planner.ServiceObservation, error) {
	dep, err := scaler.ReadDeployment(ctx, c.client, p.Target.Namespace, p.Target.Deployment)
	if err != nil {
		return nil, err
	}
	var errs []error
	out := make([]planner.ServiceObservation, 0, p.NumServices())
	for i := range p.NumServices() {
		name := p.ServiceAt(i).Name
		so := dep.Observation(name)
		svc, ok := dep.Service(name)
		switch {
		case !ok:
			errs = append(errs, &scaler.Error{Kind: scaler.ErrServiceMissing, Op: "reading service " + name,
				Namespace: p.Target.Namespace, Name: p.Target.Deployment})
			continue
		case svc.AdapterEnabled:
			n, err := c.adapterReplicas(ctx, p.Target.Namespace, scaler.AdapterName(p.Target.Deployment, name))
			if err != nil {
				errs = append(errs, err)
				so.ReplicasKnown = false
			}
			so.Desired = n
		}
		out = append(out, so)
	}
	return out, errors.Join(errs...)
}

// adapterReplicas reads a DGDSA's spec.replicas through its /scale subresource.
func (c cluster) adapterReplicas(ctx context.Context, namespace, name string) (int32, error) {
	u, err := c.client.Resource(scaler.AdapterResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{}, "scale")
	if err != nil {
		return 0, fmt.Errorf("reading the scale of DGDSA %s/%s: %w", namespace, name, err)
	}
	var s autoscalingv1.Scale
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &s); err != nil {
		return 0, fmt.Errorf("decoding the scale of DGDSA %s/%s: %w", namespace, name, err)
	}
	return s.Spec.Replicas, nil
}

// Apply implements planner.Applier: it scales every scale-actuated service whose desired count
// differs from the current one, with the decision's reasons in the Event.
func (c cluster) Apply(ctx context.Context, p policies.Policy, d planner.Decision) error {
	var errs []error
	for _, s := range d.Services {
		svc, ok := p.Service(s.Name)
		if !ok || svc.Actuation != policies.ActuationScale || s.Desired == s.Current {
			continue
		}
		reasons := make([]string, 0, len(s.Reasons))
		for _, r := range s.Reasons {
			reasons = append(reasons, r.Detail())
		}
		_, err := c.actuator.Scale(ctx, scaler.Request{Namespace: p.Target.Namespace, Deployment: p.Target.Deployment,
			Service: s.Name, Replicas: s.Desired, Reasons: reasons})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// errorKind classifies tick errors for tidal_errors_total: the scaler's kinds for cluster errors,
// else ops.DefaultKind.
func errorKind(err error) string {
	var se *scaler.Error
	var sk scaler.ErrorKind
	if errors.As(err, &se) || errors.As(err, &sk) {
		return string(scaler.KindOf(err))
	}
	return ops.DefaultKind(err)
}
