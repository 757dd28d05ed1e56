package doctor

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tidal-planner/tidal/policies"
)

// right is one thing tidal must be allowed to do.
type right struct {
	verb, group, resource, subresource, namespace, name string
}

func (r right) String() string {
	res := r.resource
	if r.subresource != "" {
		res += "/" + r.subresource
	}
	if r.group != "" {
		res += "." + r.group
	}
	if r.name != "" {
		res += " " + r.name
	}
	return fmt.Sprintf("%s %s in %s", r.verb, res, r.namespace)
}

// policyRights are what tidal run does in a policy's namespace (deploy/rbac/10-clusterrole.yaml
// says why each is needed): read the DGD and its DGDSAs' /scale, write /scale when a service has
// actuation scale, and record Events.
func policyRights(p policies.Policy) []right {
	ns := p.Target.Namespace
	out := []right{
		{verb: "get", group: "nvidia.com", resource: "dynamographdeployments", namespace: ns},
		{verb: "get", group: "nvidia.com", resource: "dynamographdeploymentscalingadapters", subresource: "scale", namespace: ns},
		{verb: "create", group: "events.k8s.io", resource: "events", namespace: ns},
		{verb: "patch", group: "events.k8s.io", resource: "events", namespace: ns},
	}
	for _, s := range p.Services() {
		if s.Actuation == policies.ActuationScale {
			out = append(out, right{verb: "update", group: "nvidia.com", resource: "dynamographdeploymentscalingadapters",
				subresource: "scale", namespace: ns})
			break
		}
	}
	return out
}

// leaseRights are what leader election does with tidal's Lease.
func leaseRights(ns, name string) []right {
	return []right{
		{verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: ns},
		{verb: "get", group: "coordination.k8s.io", resource: "leases", namespace: ns, name: name},
		{verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: ns, name: name},
	}
}

// checkRBAC asks the API server whether tidal's identity holds every right, and adds one result.
func checkRBAC(ctx context.Context, cfg Config, r *Report, policy string, rights []right) {
	who := "this identity"
	if cfg.ServiceAccount != "" {
		who = "ServiceAccount " + cfg.ServiceAccount
	}
	res := Result{Policy: policy, Check: CheckRBAC, Subject: who}
	var denied []string
	for _, rt := range rights {
		ok, err := allowed(ctx, cfg, rt)
		if err != nil {
			res.Status = Warn
			res.Detail = fmt.Sprintf("could not ask whether %s may %s: %v", who, rt, err)
			res.Fix = "the doctor's identity needs create on subjectaccessreviews (authorization.k8s.io) to check " +
				"another identity's rights; or run the doctor as tidal with --service-account self"
			r.add(res)
			return
		}
		if !ok {
			denied = append(denied, rt.String())
		}
	}
	if len(denied) > 0 {
		res.Status = Fail
		res.Detail = "denied: " + strings.Join(denied, "; ")
		res.Fix = "apply tidal's RBAC (the Helm chart does, or `kubectl apply -f deploy/rbac`) and check that its " +
			"bindings name this ServiceAccount and namespace"
	} else {
		res.Status, res.Detail = OK, fmt.Sprintf("all %d rights granted", len(rights))
	}
	r.add(res)
}

// allowed makes one access review: a SubjectAccessReview for cfg.ServiceAccount, else a
// SelfSubjectAccessReview.
func allowed(ctx context.Context, cfg Config, rt right) (bool, error) {
	attrs := &authorizationv1.ResourceAttributes{Namespace: rt.namespace, Verb: rt.verb, Group: rt.group,
		Resource: rt.resource, Subresource: rt.subresource, Name: rt.name}
	ctx, cancel := withTimeout(ctx, cfg)
	defer cancel()
	if cfg.ServiceAccount == "" {
		out, err := cfg.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
			&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: attrs}},
			metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		return out.Status.Allowed, nil
	}
	ns, _, _ := strings.Cut(cfg.ServiceAccount, "/")
	out, err := cfg.Kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			ResourceAttributes: attrs,
			User:               "system:serviceaccount:" + strings.Replace(cfg.ServiceAccount, "/", ":", 1),
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
		}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return out.Status.Allowed, nil
}
