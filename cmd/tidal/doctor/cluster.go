package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/tidal-planner/tidal/policies"
	"github.com/tidal-planner/tidal/scaler"
)

// checkDeployment reads the policy's DGD (and its DGDSAs' /scale) and checks it exists and is
// Ready. found is false when the DGD could not be read.
func checkDeployment(ctx context.Context, cfg Config, r *Report, p policies.Policy) (dep scaler.Deployment, found bool) {
	ns, name := p.Target.Namespace, p.Target.Deployment
	res := Result{Policy: p.Name, Check: CheckDeployment}
	dgd := "DGD " + ns + "/" + name
	callCtx, cancel := withTimeout(ctx, cfg)
	defer cancel()
	dep, err := scaler.Observe(callCtx, cfg.Dynamic, ns, name)
	switch kind := scaler.KindOf(err); {
	case err == nil:
	case dep.Name != "":
		// The DGD was read; only some DGDSAs were missing or unreadable (Observe marks those
		// services), which the scaling-adapter check reports per service.
	case kind == scaler.ErrDeploymentMissing:
		res.Status, res.Detail = Fail, dgd+" does not exist"
		res.Fix = fmt.Sprintf("check spec.target.namespace and spec.target.deployment against `kubectl get dynamographdeployments -n %s`", ns)
		r.add(res)
		return dep, false
	case kind == scaler.ErrForbidden:
		res.Status, res.Detail = Fail, "reading "+dgd+" is forbidden: "+err.Error()
		res.Fix = "grant the doctor's identity get on dynamographdeployments and dynamographdeploymentscalingadapters/scale " +
			"(tidal's own rights are the rbac check's)"
		r.add(res)
		return dep, false
	default:
		res.Status, res.Detail = Fail, "reading "+dgd+" failed: "+err.Error()
		res.Fix = "check that the Dynamo CRDs are installed (`kubectl get crd dynamographdeployments.nvidia.com`) and the API server answers"
		r.add(res)
		return dep, false
	}
	if !dep.Ready {
		res.Status = Fail
		res.Detail = fmt.Sprintf("%s is not Ready (state %q, reason %q: %s)", dgd, dep.State, dep.ReadyReason, dep.ReadyMessage)
		res.Fix = fmt.Sprintf("wait for the Dynamo operator to bring it up, or see why with `kubectl describe dynamographdeployment -n %s %s`: "+
			"tidal holds services whose scale-ups never become ready", ns, name)
	} else {
		res.Status, res.Detail = OK, fmt.Sprintf("%s exists and is Ready (%d services)", dgd, len(dep.Services))
	}
	r.add(res)
	return dep, true
}

// checkAdapters checks, for every service the policy plans, that the DGD has it and, when tidal
// writes it, that scalingAdapter.enabled is set and the operator created the DGDSA.
func checkAdapters(r *Report, p policies.Policy, dep scaler.Deployment, found bool) {
	for _, s := range p.Services() {
		res := Result{Policy: p.Name, Check: CheckAdapter, Subject: s.Name}
		adapter := adapterOf(p, s.Name)
		svc, ok := dep.Service(s.Name)
		switch {
		case !found:
			res.Status, res.Detail = Skip, "the DGD was not read"
		case !ok:
			res.Status = Fail
			res.Detail = fmt.Sprintf("DGD %s has no service %q (it has %s)", dep.Name, s.Name, serviceNames(dep))
			res.Fix = "spec.services[].name must be the DGD's service name exactly (case matters)"
		case !writes(s):
			res.Status, res.Detail = OK, "actuation none: tidal only plans this service"
		case !svc.AdapterEnabled:
			res.Status = Fail
			res.Detail = "scalingAdapter.enabled is not true, so no DGDSA owns its replicas"
			res.Fix = fmt.Sprintf("set spec.services.%s.scalingAdapter.enabled: true in DGD %s/%s; the operator then creates DGDSA %s",
				s.Name, dep.Namespace, dep.Name, adapter)
		case !svc.Adapter.Found:
			res.Status = Fail
			res.Detail = fmt.Sprintf("DGDSA %s does not exist", adapter)
			res.Fix = "the Dynamo operator creates it once scalingAdapter.enabled is set: check that the operator runs and is " +
				"recent enough to ship DynamoGraphDeploymentScalingAdapter (`kubectl get dgdsa -n " + dep.Namespace + "`)"
		default:
			res.Status = OK
			res.Detail = fmt.Sprintf("DGDSA %s (spec.replicas %d, %d ready)", adapter, svc.Adapter.Replicas, svc.Status.ReadyReplicas)
		}
		r.add(res)
	}
}

// serviceNames lists a DGD's services for a message.
func serviceNames(dep scaler.Deployment) string {
	if len(dep.Services) == 0 {
		return "none"
	}
	names := make([]string, len(dep.Services))
	for i, s := range dep.Services {
		names[i] = fmt.Sprintf("%q", s.Name)
	}
	return strings.Join(names, ", ")
}

// checkBudget compares the policy's GPU budget with the GPUs its services use now and at their
// minimums.
func checkBudget(r *Report, p policies.Policy, dep scaler.Deployment, found bool) {
	res := Result{Policy: p.Name, Check: CheckBudget}
	if !found {
		res.Status, res.Detail = Skip, "the DGD was not read"
		r.add(res)
		return
	}
	var used, floor int32
	unknown := []string{}
	for _, s := range p.Services() {
		gpus := s.GPUsPerReplica
		svc, ok := dep.Service(s.Name)
		if gpus == 0 && ok {
			gpus = svc.GPUsPerReplica()
		}
		if gpus == 0 {
			unknown = append(unknown, s.Name)
			continue
		}
		used += dep.Observation(s.Name).Desired * gpus
		floor += s.MinReplicas * gpus
	}
	budget := p.Budget.MaxGPUs
	switch {
	case len(unknown) > 0:
		res.Status = Warn
		res.Detail = "GPUs per replica unknown for " + strings.Join(unknown, ", ")
		res.Fix = "set gpusPerReplica on those services in the policy, or resources.limits.gpu in the DGD"
	case budget == 0:
		res.Status, res.Detail = OK, fmt.Sprintf("no budget (spec.budget.maxGPUs unset); %d GPUs in use", used)
	case floor > budget:
		res.Status = Fail
		res.Detail = fmt.Sprintf("the services' minimums need %d GPUs, over the budget of %d", floor, budget)
		res.Fix = "raise spec.budget.maxGPUs or lower minReplicas"
	case used > budget:
		res.Status = Warn
		res.Detail = fmt.Sprintf("%d GPUs in use, over the budget of %d", used, budget)
		res.Fix = "tidal will scale down to the budget on its first applied tick; raise spec.budget.maxGPUs if that is not intended"
	default:
		res.Status, res.Detail = OK, fmt.Sprintf("%d of %d GPUs in use", used, budget)
	}
	r.add(res)
}
