package scaler

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
)

// EventRecorder records Kubernetes Events. client-go's events.EventRecorder (what NewEventRecorder
// returns) satisfies it; tests substitute a fake that keeps the calls.
type EventRecorder interface {
	Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

// ReportingController is the events.k8s.io reportingController of tidal's Events.
const ReportingController = "tidal-planner.io/tidal"

// EventAction is the action of every Event the actuator records.
const EventAction = "Scale"

// Event reasons. Normal events are recorded on the DGDSA; warnings about a missing DGD, service or
// adapter are recorded on the DGD (the object that exists, or would), the others on the DGDSA.
const (
	// ReasonScaled: spec.replicas of the DGDSA changed; the note carries the decision's reasons.
	ReasonScaled = "Scaled"
	// ReasonDryRun: a dry-run decision that would have changed the replicas (nothing written).
	ReasonDryRun = "DryRunScale"
	// ReasonDeploymentMissing, ReasonServiceMissing, ReasonAdapterDisabled, ReasonAdapterMissing:
	// the decision could not be applied; see the matching ErrorKind.
	ReasonDeploymentMissing = "DeploymentMissing"
	ReasonServiceMissing    = "ServiceMissing"
	ReasonAdapterDisabled   = "AdapterDisabled"
	ReasonAdapterMissing    = "AdapterMissing"
	// ReasonScaleForbidden: the API server refused tidal (403).
	ReasonScaleForbidden = "ScaleForbidden"
	// ReasonScaleFailed: any other failure (conflicts exhausted, API errors).
	ReasonScaleFailed = "ScaleFailed"
	// ReasonConflictingWriter: something other than tidal changed the DGDSA's replicas (seen by
	// the compare-and-swap of a write, or by the planner between ticks); tidal did not overwrite
	// it and backs off.
	ReasonConflictingWriter = "ConflictingWriter"
)

// maxNote is the events.k8s.io/v1 limit on Event.note, in bytes.
const maxNote = 1024

// NewEventRecorder returns an events.k8s.io/v1 recorder writing through client, with
// ReportingController as the reporting controller. Repeated identical warnings are folded into an
// Event series by client-go. Call stop (once) to flush and shut the broadcaster down; ctx ending
// also stops it.
func NewEventRecorder(ctx context.Context, client kubernetes.Interface) (recorder EventRecorder, stop func(), err error) {
	b := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	if err := b.StartRecordingToSinkWithContext(ctx); err != nil {
		return nil, nil, fmt.Errorf("starting the event broadcaster: %w", err)
	}
	return b.NewRecorder(scheme.Scheme, ReportingController), b.Shutdown, nil
}

// deploymentRef refers to a DGD, whether it exists or not.
func deploymentRef(namespace, name string, uid types.UID) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		APIVersion: DeploymentResource.GroupVersion().String(), Kind: "DynamoGraphDeployment",
		Namespace: namespace, Name: name, UID: uid,
	}
}

// adapterRef refers to a DGDSA. A resourceVersion makes each scale its own Event (client-go folds
// Events about the same object version into a series, which would keep the first note only).
func adapterRef(namespace, name string, uid types.UID, resourceVersion string) *corev1.ObjectReference {
	return &corev1.ObjectReference{
		APIVersion: AdapterResource.GroupVersion().String(), Kind: "DynamoGraphDeploymentScalingAdapter",
		Namespace: namespace, Name: name, UID: uid, ResourceVersion: resourceVersion,
	}
}

// scaleNote renders "<verb> <service> from <a> to <b>: <reason>; <reason>", cut to the note limit.
func scaleNote(verb, service string, from, to int32, reasons []string) string {
	note := fmt.Sprintf("%s %s from %d to %d", verb, service, from, to)
	if len(reasons) > 0 {
		note += ": " + strings.Join(reasons, "; ")
	}
	return truncate(note, maxNote)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut with "...".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
