package doctor

import (
	"context"
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tidal-planner/tidal/policies"
	"github.com/tidal-planner/tidal/scaler"
)

// ScaledObjectResource is KEDA's ScaledObject (keda.sh/v1alpha1).
var ScaledObjectResource = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}

// adapterKind is the DGDSA's kind, as an HPA's or a ScaledObject's scaleTargetRef names it.
const adapterKind = "DynamoGraphDeploymentScalingAdapter"

// keda says whether KEDA's ScaledObject resource is served.
type keda struct {
	installed bool
	err       error
}

// kedaInstalled asks discovery whether keda.sh/v1alpha1 serves scaledobjects.
func kedaInstalled(cfg Config) keda {
	list, err := cfg.Discovery.ServerResourcesForGroupVersion(ScaledObjectResource.GroupVersion().String())
	if apierrors.IsNotFound(err) {
		return keda{}
	}
	if err != nil {
		return keda{err: err}
	}
	for _, r := range list.APIResources {
		if r.Name == ScaledObjectResource.Resource {
			return keda{installed: true}
		}
	}
	return keda{}
}

// others are the writers found in a namespace, listed once per policy.
type others struct {
	hpas          []autoscalingv2.HorizontalPodAutoscaler
	scaledObjects []unstructured.Unstructured
	planners      []string
	problems      []string // lists that failed: the check is incomplete
}

// listOthers lists the namespace's HPAs and ScaledObjects and the DGD's planner services.
func listOthers(ctx context.Context, cfg Config, ns string, dep scaler.Deployment, k keda) others {
	var o others
	ctx, cancel := withTimeout(ctx, cfg)
	defer cancel()
	if hl, err := cfg.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{}); err != nil {
		o.problems = append(o.problems, "listing HorizontalPodAutoscalers: "+err.Error())
	} else {
		o.hpas = hl.Items
	}
	switch {
	case k.err != nil:
		o.problems = append(o.problems, "asking whether KEDA is installed: "+k.err.Error())
	case k.installed:
		if sl, err := cfg.Dynamic.Resource(ScaledObjectResource).Namespace(ns).List(ctx, metav1.ListOptions{}); err != nil {
			o.problems = append(o.problems, "listing ScaledObjects: "+err.Error())
		} else {
			o.scaledObjects = sl.Items
		}
	}
	for _, s := range dep.Services {
		if strings.EqualFold(s.ComponentType, "planner") {
			o.planners = append(o.planners, s.Name)
		}
	}
	return o
}

// checkWriters checks that nothing but tidal writes the DGDSAs tidal writes: no HPA, no
// ScaledObject other than the one serving tidal's numbers (actuation keda), no Dynamo planner in
// the DGD. A keda service also needs that one ScaledObject, or nothing applies its decisions.
func checkWriters(ctx context.Context, cfg Config, r *Report, p policies.Policy, dep scaler.Deployment, found bool, k keda) {
	var o others
	if found {
		o = listOthers(ctx, cfg, p.Target.Namespace, dep, k)
	}
	for _, s := range p.Services() {
		res := Result{Policy: p.Name, Check: CheckWriters, Subject: s.Name}
		switch {
		case !found:
			res.Status, res.Detail = Skip, "the DGD was not read"
		case !writes(s):
			res.Status, res.Detail = Skip, "actuation none: tidal writes nothing"
		default:
			judgeWriters(&res, p, s, o, k)
		}
		r.add(res)
	}
}

// judgeWriters fills a service's competing-writers result.
func judgeWriters(res *Result, p policies.Policy, s policies.Service, o others, k keda) {
	ns, adapter := p.Target.Namespace, adapterOf(p, s.Name)
	var fights, fixes []string
	for _, h := range o.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != adapterKind || ref.Name != adapter || ownedByScaledObject(h.OwnerReferences) {
			continue
		}
		fights = append(fights, "HorizontalPodAutoscaler "+h.Name)
		fixes = append(fixes, fmt.Sprintf("kubectl delete hpa -n %s %s", ns, h.Name))
	}
	served := ""
	for _, so := range o.scaledObjects {
		kind, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "kind")
		name, _, _ := unstructured.NestedString(so.Object, "spec", "scaleTargetRef", "name")
		if kind != adapterKind || name != adapter {
			continue
		}
		if s.Actuation == policies.ActuationKEDA && servesTidal(so, p.Name, s.Name) {
			served = so.GetName()
			continue
		}
		fights = append(fights, fmt.Sprintf("ScaledObject %s (triggers: %s)", so.GetName(), triggerTypes(so)))
		fixes = append(fixes, fmt.Sprintf("kubectl delete scaledobject -n %s %s", ns, so.GetName()))
	}
	for _, pl := range o.planners {
		fights = append(fights, fmt.Sprintf("Dynamo's planner (DGD service %s)", pl))
		fixes = append(fixes, fmt.Sprintf("remove service %s from DGD %s/%s", pl, ns, p.Target.Deployment))
	}
	switch {
	case len(fights) > 0:
		res.Status = Fail
		res.Detail = fmt.Sprintf("DGDSA %s is also written by %s: two autoscalers would fight", adapter, strings.Join(fights, ", "))
		res.Fix = "remove the other writer before tidal writes (" + strings.Join(fixes, "; ") +
			"), or set this service's actuation: none while comparing"
	case len(o.problems) > 0:
		res.Status, res.Detail = Warn, "could not check every writer: "+strings.Join(o.problems, "; ")
		res.Fix = "run the doctor with an identity that may list horizontalpodautoscalers and scaledobjects in " + ns
	case s.Actuation == policies.ActuationKEDA && served == "":
		res.Status = Fail
		res.Detail = fmt.Sprintf("actuation keda, but no ScaledObject with tidal's external trigger (policy %q, service %q) targets DGDSA %s",
			p.Name, s.Name, adapter)
		if !k.installed {
			res.Detail += "; KEDA is not installed"
		}
		res.Fix = "install KEDA and create the ScaledObject (docs/keda.md, deploy/keda/20-scaledobject.yaml), or use actuation: scale"
	case served != "":
		res.Status, res.Detail = OK, "only ScaledObject "+served+" writes DGDSA "+adapter+", with tidal's numbers"
	default:
		res.Status, res.Detail = OK, "no HPA, ScaledObject or Dynamo planner writes DGDSA "+adapter
	}
}

// ownedByScaledObject reports whether an HPA is KEDA's, made for a ScaledObject (judged there).
func ownedByScaledObject(refs []metav1.OwnerReference) bool {
	for _, r := range refs {
		if r.Kind == "ScaledObject" && strings.HasPrefix(r.APIVersion, "keda.sh/") {
			return true
		}
	}
	return false
}

// servesTidal reports whether every trigger of a ScaledObject is tidal's external scaler for the
// policy's service (metadata policy and service, docs/keda.md).
func servesTidal(so unstructured.Unstructured, policy, service string) bool {
	triggers, _, _ := unstructured.NestedSlice(so.Object, "spec", "triggers")
	if len(triggers) == 0 {
		return false
	}
	for _, t := range triggers {
		m, _ := t.(map[string]any)
		typ, _, _ := unstructured.NestedString(m, "type")
		pol, _, _ := unstructured.NestedString(m, "metadata", "policy")
		svc, _, _ := unstructured.NestedString(m, "metadata", "service")
		if (typ != "external" && typ != "external-push") || pol != policy || svc != service {
			return false
		}
	}
	return true
}

// triggerTypes lists a ScaledObject's trigger types for a message.
func triggerTypes(so unstructured.Unstructured) string {
	triggers, _, _ := unstructured.NestedSlice(so.Object, "spec", "triggers")
	var types []string
	for _, t := range triggers {
		m, _ := t.(map[string]any)
		typ, _, _ := unstructured.NestedString(m, "type")
		types = append(types, typ)
	}
	if len(types) == 0 {
		return "none"
	}
	return strings.Join(types, ", ")
}
