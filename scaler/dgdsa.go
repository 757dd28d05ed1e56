package scaler

import (
	"context"
	"errors"
	"fmt"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
)

// Actuator applies desired replica counts to Dynamo services by writing the scale subresource of
// their DynamoGraphDeploymentScalingAdapter, and nothing else: it never patches a DGD. It is safe
// for concurrent use; it holds no state between calls.
type Actuator struct {
	client   dynamic.Interface
	recorder EventRecorder
	backoff  wait.Backoff
	lease    func() time.Duration
}

// ActuatorConfig configures NewActuator.
type ActuatorConfig struct {
	// Client talks to the API server (required).
	Client dynamic.Interface
	// Recorder receives the Events (required; NewEventRecorder makes one).
	Recorder EventRecorder
	// Backoff paces retries on conflict (zero: client-go's retry.DefaultRetry, 5 steps from 10 ms).
	Backoff wait.Backoff
	// Lease, when set, says how long this process may still write (leader.Elector.Remaining):
	// it is asked right before every update, which is refused (ErrNotLeader) when it returns 0
	// or less and otherwise sent with a deadline no later than the lease's end. Nil: always.
	Lease func() time.Duration
}

// NewActuator returns an Actuator.
func NewActuator(cfg ActuatorConfig) (*Actuator, error) {
	if cfg.Client == nil || cfg.Recorder == nil {
		return nil, errors.New("creating the actuator: a client and an event recorder are required")
	}
	if cfg.Backoff.Steps == 0 {
		cfg.Backoff = retry.DefaultRetry
	}
	return &Actuator{client: cfg.Client, recorder: cfg.Recorder, backoff: cfg.Backoff, lease: cfg.Lease}, nil
}

// Request asks for one DGD service to run Replicas replicas.
type Request struct {
	Namespace, Deployment, Service string
	Replicas                       int32
	// From is the replica count the decision was made from (planner.ServiceDecision.Current).
	// The write is a compare-and-swap: it is sent only while the DGDSA's spec.replicas still
	// equals From, with the resourceVersion read as a precondition, so a decision based on a
	// stale read fails with ErrChanged and is re-planned instead of overwriting another writer.
	From int32
	// Reasons explain the decision (one line each, e.g. planner.Reason.Detail()); they go into
	// the Event's note, cut to 1 KiB.
	Reasons []string
	// DryRun computes the change and checks it with a server-side dry-run update (so RBAC and
	// validation errors still surface) but persists nothing; a change records a DryRunScale Event.
	DryRun bool
}

// Result says what Scale did.
type Result struct {
	// Adapter is the DGDSA's name.
	Adapter string
	// Previous is the adapter's spec.replicas before the call; Replicas is the requested count.
	Previous, Replicas int32
	// Written is true when an update was persisted (never in dry-run, never when unchanged).
	Written bool
	// Attempts counts update requests sent, conflicts included (0 when nothing changed).
	Attempts int
}

// Changed reports whether the request differed from the adapter's replicas.
func (r Result) Changed() bool { return r.Previous != r.Replicas }

// Scale reads the DGD, checks that the service exists and enables its scaling adapter, then sets
// the DGDSA's spec.replicas through its /scale subresource: get, check that spec.replicas is
// still req.From (else ErrChanged: nothing is written), check the lease (else ErrNotLeader),
// update with the resourceVersion read as a precondition, and on a 409 start again (client-go's
// retry.RetryOnConflict; the re-read is checked against From again, so a conflict never turns
// into an overwrite). An unchanged count sends no update and records no Event. A change records
// a Scaled Event on the DGDSA carrying the reasons.
//
// Failures return an *Error whose Kind says why (see ErrorKind) and record a Warning Event: on the
// DGD when the DGD, the service or the adapter is missing or disabled, else on the DGDSA. Nothing
// is written elsewhere in any case.
func (a *Actuator) Scale(ctx context.Context, req Request) (Result, error) {
	res := Result{Adapter: AdapterName(req.Deployment, req.Service), Replicas: req.Replicas}
	if req.Replicas < 0 {
		return res, fmt.Errorf("scaling %s/%s: negative replicas %d", req.Namespace, res.Adapter, req.Replicas)
	}
	dep, err := a.checkService(ctx, req)
	if err != nil {
		return res, err
	}
	var scale *autoscalingv1.Scale
	err = retry.RetryOnConflict(a.backoff, func() error {
		var err error
		scale, err = a.setReplicas(ctx, req, &res)
		return err
	})
	if err != nil {
		return res, a.scaleFailed(req, dep, res, err)
	}
	if res.Changed() {
		a.recordChange(req, res, scale)
	}
	return res, nil
}

// checkService reads the DGD and fails unless the service exists with its adapter enabled.
func (a *Actuator) checkService(ctx context.Context, req Request) (Deployment, error) {
	dep, err := ReadDeployment(ctx, a.client, req.Namespace, req.Deployment)
	if err != nil {
		a.warnDeployment(req, Deployment{}, reasonFor(KindOf(err)), "cannot scale %s: %v", req.Service, err)
		return dep, err
	}
	op := "checking DGD service " + req.Service
	svc, ok := dep.Service(req.Service)
	switch {
	case !ok:
		err = &Error{Kind: ErrServiceMissing, Op: op, Namespace: req.Namespace, Name: req.Deployment}
		a.warnDeployment(req, dep, ReasonServiceMissing, "cannot scale %s: the DGD has no such service", req.Service)
	case !svc.AdapterEnabled:
		err = &Error{Kind: ErrAdapterDisabled, Op: op, Namespace: req.Namespace, Name: req.Deployment}
		a.warnDeployment(req, dep, ReasonAdapterDisabled,
			"cannot scale %s: spec.services.%s.scalingAdapter.enabled is not true, so no DGDSA owns its replicas; tidal writes nothing else",
			req.Service, req.Service)
	}
	return dep, err
}

// setReplicas is one get-compare-update round on the DGDSA's /scale. It returns the scale as
// updated (or as read, when unchanged).
func (a *Actuator) setReplicas(ctx context.Context, req Request, res *Result) (*autoscalingv1.Scale, error) {
	ri := a.client.Resource(AdapterResource).Namespace(req.Namespace)
	u, err := ri.Get(ctx, res.Adapter, metav1.GetOptions{}, "scale")
	if err != nil {
		return nil, err
	}
	scale, err := toScale(u)
	if err != nil {
		return nil, err
	}
	res.Previous = scale.Spec.Replicas
	if !res.Changed() {
		return scale, nil
	}
	if scale.Spec.Replicas != req.From {
		return nil, &Error{Kind: ErrChanged, Op: fmt.Sprintf("scaling from %d to %d: spec.replicas is %d",
			req.From, req.Replicas, scale.Spec.Replicas), Namespace: req.Namespace, Name: res.Adapter}
	}
	ctx, cancel, err := a.leaseContext(ctx, req, res.Adapter)
	if err != nil {
		return nil, err
	}
	defer cancel()
	scale.Spec.Replicas = req.Replicas
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(scale)
	if err != nil {
		return nil, fmt.Errorf("encoding the scale: %w", err)
	}
	opts := metav1.UpdateOptions{FieldManager: "tidal"}
	if req.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	res.Attempts++
	u, err = ri.Update(ctx, &unstructured.Unstructured{Object: obj}, opts, "scale")
	if err != nil {
		return nil, err
	}
	res.Written = !req.DryRun
	return toScale(u)
}

// leaseContext checks, right before an update, that this process still provably holds its lease
// and bounds the update's deadline by the lease's end.
func (a *Actuator) leaseContext(ctx context.Context, req Request, adapter string) (context.Context, context.CancelFunc, error) {
	if a.lease == nil {
		return ctx, func() {}, nil
	}
	left := a.lease()
	if left <= 0 {
		return nil, nil, &Error{Kind: ErrNotLeader, Op: fmt.Sprintf("scaling to %d", req.Replicas),
			Namespace: req.Namespace, Name: adapter}
	}
	ctx, cancel := context.WithTimeout(ctx, left)
	return ctx, cancel, nil
}

// toScale converts the unstructured autoscaling/v1 Scale the dynamic client returns.
func toScale(u *unstructured.Unstructured) (*autoscalingv1.Scale, error) {
	var s autoscalingv1.Scale
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &s); err != nil {
		return nil, fmt.Errorf("decoding the scale of %s: %w", u.GetName(), err)
	}
	return &s, nil
}

// scaleFailed classifies a failed scale round, records its Event and returns the *Error.
func (a *Actuator) scaleFailed(req Request, dep Deployment, res Result, err error) error {
	op := "updating the DGDSA scale"
	if apierrors.IsNotFound(err) {
		e := &Error{Kind: ErrAdapterMissing, Op: op, Namespace: req.Namespace, Name: res.Adapter, Err: err}
		a.warnDeployment(req, dep, ReasonAdapterMissing,
			"cannot scale %s: DGDSA %s does not exist although the service enables its scaling adapter; tidal writes nothing else",
			req.Service, res.Adapter)
		return e
	}
	var e *Error
	if !errors.As(err, &e) {
		e = apiError(op, req.Namespace, res.Adapter, err)
	}
	reason := ReasonScaleFailed
	switch e.Kind {
	case ErrForbidden:
		reason = ReasonScaleForbidden
	case ErrChanged:
		reason = ReasonConflictingWriter
	case ErrNotLeader:
		return e // a process that no longer leads records nothing either
	}
	a.recorder.Eventf(adapterRef(req.Namespace, res.Adapter, "", ""), nil, corev1.EventTypeWarning,
		reason, EventAction, "%s", truncate(fmt.Sprintf("cannot scale %s to %d: %v", req.Service, req.Replicas, err), maxNote))
	return e
}

// recordChange records the Scaled (or DryRunScale) Event on the DGDSA.
func (a *Actuator) recordChange(req Request, res Result, scale *autoscalingv1.Scale) {
	reason, verb := ReasonScaled, "scaled"
	if req.DryRun {
		reason, verb = ReasonDryRun, "dry-run: would scale"
	}
	ref := adapterRef(req.Namespace, res.Adapter, scale.UID, scale.ResourceVersion)
	a.recorder.Eventf(ref, nil, corev1.EventTypeNormal, reason, EventAction, "%s",
		scaleNote(verb, req.Service, res.Previous, res.Replicas, req.Reasons))
}

// warnDeployment records a Warning Event on the DGD (dep may be the zero value when it is missing).
func (a *Actuator) warnDeployment(req Request, dep Deployment, reason, format string, args ...any) {
	ref := deploymentRef(req.Namespace, req.Deployment, dep.UID)
	a.recorder.Eventf(ref, nil, corev1.EventTypeWarning, reason, EventAction, "%s",
		truncate(fmt.Sprintf(format, args...), maxNote))
}

// reasonFor maps an error kind from reading the DGD to an Event reason.
func reasonFor(k ErrorKind) string {
	switch k {
	case ErrDeploymentMissing:
		return ReasonDeploymentMissing
	case ErrForbidden:
		return ReasonScaleForbidden
	default:
		return ReasonScaleFailed
	}
}
