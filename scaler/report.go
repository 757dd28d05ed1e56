package scaler

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// ReportOtherWriter records a ConflictingWriter Warning Event on a service's DGDSA: its replicas
// changed from tidalWrote to found and no write of tidal's explains it, so tidal leaves them alone
// until they have stayed unchanged for backoff. Safe for concurrent use.
func (a *Actuator) ReportOtherWriter(namespace, deployment, service string, tidalWrote, found int32, backoff time.Duration) {
	adapter := AdapterName(deployment, service)
	a.recorder.Eventf(adapterRef(namespace, adapter, "", ""), nil, corev1.EventTypeWarning, ReasonConflictingWriter, EventAction, "%s",
		truncate(fmt.Sprintf("the replicas of %s changed from %d (tidal's last write) to %d, and tidal did not make that change: "+
			"another writer is scaling it; tidal will not write it until it has stayed unchanged for %s", service, tidalWrote, found, backoff), maxNote))
}

// ReportReadFailure records a Warning Event on the DGD when reading it (or its adapters) for
// planning failed in a way an operator must fix: DeploymentMissing when the DGD does not exist,
// AdapterMissing when a service enables its adapter but the DGDSA does not exist, ScaleForbidden
// when tidal's RBAC refused the read. Other failures (timeouts, 5xx) record
// nothing: they are counted in tidal_errors_total and pass by themselves. It reports whether an
// Event was recorded. Safe for concurrent use.
func (a *Actuator) ReportReadFailure(namespace, deployment string, err error) bool {
	var reason, note string
	switch KindOf(err) {
	case ErrDeploymentMissing:
		reason, note = ReasonDeploymentMissing, "cannot plan: the DynamoGraphDeployment does not exist; tidal writes nothing"
	case ErrForbidden:
		reason, note = ReasonScaleForbidden, fmt.Sprintf("cannot plan: tidal may not read it (check deploy/rbac): %v", err)
	case ErrAdapterMissing:
		reason, note = ReasonAdapterMissing, fmt.Sprintf("cannot plan: %v; the service's replicas are unknown and tidal writes nothing else", err)
	default:
		return false
	}
	a.recorder.Eventf(deploymentRef(namespace, deployment, ""), nil, corev1.EventTypeWarning, reason, EventAction, "%s",
		truncate(note, maxNote))
	return true
}
