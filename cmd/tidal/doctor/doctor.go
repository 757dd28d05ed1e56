package doctor

import (
	"context"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/policies"
	"github.com/tidal-planner/tidal/scaler"
)

// Config is what Run needs. Kube, Dynamic and Prometheus are required.
type Config struct {
	// Kube reads HPAs and makes access reviews; Dynamic reads DGDs, DGDSAs and ScaledObjects;
	// Discovery (default: Kube's) tells whether KEDA's ScaledObject resource exists.
	Kube      kubernetes.Interface
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
	// Prometheus runs the policies' queries.
	Prometheus *metrics.Adapter
	// Timeout bounds each Prometheus and API call (default 10s).
	Timeout time.Duration
	// ServiceAccount is the "namespace/name" of the ServiceAccount tidal runs as: its rights are
	// checked with SubjectAccessReview. "" checks the caller's own rights
	// (SelfSubjectAccessReview): right when the doctor runs as tidal, in the cluster.
	ServiceAccount string
	// LeaseNamespace and LeaseName are tidal's leader-election Lease; LeaseName "" skips its check.
	LeaseNamespace, LeaseName string
}

// Run checks every policy and returns the checklist. It fails only through the results: a
// check that cannot be made is a warning saying why.
func Run(ctx context.Context, cfg Config, ps []policies.Policy) Report {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Discovery == nil && cfg.Kube != nil {
		cfg.Discovery = cfg.Kube.Discovery()
	}
	var r Report
	if cfg.LeaseName != "" {
		checkRBAC(ctx, cfg, &r, "", leaseRights(cfg.LeaseNamespace, cfg.LeaseName))
	}
	keda := kedaInstalled(cfg)
	for _, p := range ps {
		checkPrometheus(ctx, cfg, &r, p)
		dep, found := checkDeployment(ctx, cfg, &r, p)
		checkAdapters(&r, p, dep, found)
		checkRBAC(ctx, cfg, &r, p.Name, policyRights(p))
		checkWriters(ctx, cfg, &r, p, dep, found, keda)
		checkBudget(&r, p, dep, found)
	}
	return r
}

// writes reports whether tidal's decisions reach the service's DGDSA (directly or via KEDA).
func writes(s policies.Service) bool {
	return s.Actuation == policies.ActuationScale || s.Actuation == policies.ActuationKEDA
}

// adapterOf names the DGDSA of a policy's service.
func adapterOf(p policies.Policy, service string) string {
	return scaler.AdapterName(p.Target.Deployment, service)
}

// withTimeout bounds one call.
func withTimeout(ctx context.Context, cfg Config) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, cfg.Timeout)
}
