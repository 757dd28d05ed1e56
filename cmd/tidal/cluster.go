package main

import (
	"context"
	"errors"

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
	// leading reports whether this process leads (nil: always); only the leader records Events.
	leading func() bool
}

// Replicas implements planner.ReplicaReader with scaler.Observe: Desired is the DGDSA's
// spec.replicas (the source of truth; the DGD's copy lags), else the DGD's spec.replicas when the
// service enables no adapter (actuation none or keda); Ready and GPUs per replica come from the
// DGD. A service absent from the DGD, or whose enabled DGDSA is missing or unreadable, is an error
// and stays unknown (never written); the others stay known. A missing DGD or DGDSA, or a forbidden
// read, also records a Warning Event on the DGD (DeploymentMissing, AdapterMissing,
// ScaleForbidden) when this process leads.
func (c cluster) Replicas(ctx context.Context, p policies.Policy) ([]planner.ServiceObservation, error) {
	dep, err := scaler.Observe(ctx, c.client, p.Target.Namespace, p.Target.Deployment)
	if err != nil && c.leads() {
		c.actuator.ReportReadFailure(p.Target.Namespace, p.Target.Deployment, err)
	}
	if dep.Name == "" { // the DGD itself was not read
		return nil, err
	}
	errs := []error{err} // unreadable adapters: those services are unknown, the others known
	out := make([]planner.ServiceObservation, 0, p.NumServices())
	for i := range p.NumServices() {
		name := p.ServiceAt(i).Name
		if _, ok := dep.Service(name); !ok {
			errs = append(errs, &scaler.Error{Kind: scaler.ErrServiceMissing, Op: "reading service " + name,
				Namespace: p.Target.Namespace, Name: p.Target.Deployment})
			continue
		}
		out = append(out, dep.Observation(name))
	}
	return out, errors.Join(errs...)
}

func (c cluster) leads() bool { return c.leading == nil || c.leading() }

// Apply implements planner.Applier: it scales exactly the services the decision marks Write (the
// planner's one decision of what is written), each as a compare-and-swap from the count the
// decision was made from, with the decision's reasons in the Event; and it records a
// ConflictingWriter Event for every service where the planner saw another writer. In dry-run the
// scaler sends a server-side dry-run update (RBAC and validation still checked, nothing persisted)
// and records a DryRunScale Event.
func (c cluster) Apply(ctx context.Context, p policies.Policy, d planner.Decision, dryRun bool) error {
	for _, s := range planner.ConflictingWriters(d) {
		from, found := otherWrite(s)
		c.actuator.ReportOtherWriter(p.Target.Namespace, p.Target.Deployment, s.Name, from, found, p.Stability.ConflictBackoff)
	}
	var errs []error
	for _, s := range d.Services {
		if !s.Write {
			continue
		}
		reasons := make([]string, 0, len(s.Reasons))
		for _, r := range s.Reasons {
			reasons = append(reasons, r.Detail())
		}
		_, err := c.actuator.Scale(ctx, scaler.Request{Namespace: p.Target.Namespace, Deployment: p.Target.Deployment,
			Service: s.Name, Replicas: s.Desired, From: s.Current, Reasons: reasons, DryRun: dryRun})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// otherWrite returns the counts of a service's conflicting-writer reason: tidal's last write and
// the count found.
func otherWrite(s planner.ServiceDecision) (tidalWrote, found int32) {
	for _, r := range s.Reasons {
		if r.Code == planner.CodeConflictingWriter {
			return r.Before, r.After
		}
	}
	return 0, 0
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
