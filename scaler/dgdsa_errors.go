package scaler

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ErrorKind classifies why the actuator could not apply a decision. Each kind is also a sentinel
// error: errors.Is(err, scaler.ErrAdapterMissing) holds for every *Error of that kind, and
// KindOf(err) returns the kind to label metrics with. Values are stable metric label values.
type ErrorKind string

// Error kinds. None of them leads to a write anywhere else: the decision is simply not applied.
const (
	// ErrDeploymentMissing: the DynamoGraphDeployment does not exist.
	ErrDeploymentMissing ErrorKind = "deployment-missing"
	// ErrServiceMissing: the DGD has no service of that name.
	ErrServiceMissing ErrorKind = "service-missing"
	// ErrAdapterDisabled: the DGD service does not set scalingAdapter.enabled, so no DGDSA owns
	// its replicas.
	ErrAdapterDisabled ErrorKind = "adapter-disabled"
	// ErrAdapterMissing: the service enables the adapter but its DGDSA does not exist (yet).
	ErrAdapterMissing ErrorKind = "adapter-missing"
	// ErrForbidden: the API server answered 403; tidal's RBAC does not allow the call.
	ErrForbidden ErrorKind = "forbidden"
	// ErrConflict: the scale kept changing under us; retries on conflict ran out.
	ErrConflict ErrorKind = "conflict"
	// ErrChanged: the adapter's spec.replicas is no longer the count the decision was made from
	// (another writer changed it); nothing was written and the next tick re-plans.
	ErrChanged ErrorKind = "changed"
	// ErrNotLeader: this process's lease could not be proven valid right before the write.
	ErrNotLeader ErrorKind = "not-leader"
	// ErrAPI: any other failure talking to the API server (timeouts, 5xx, bad objects).
	ErrAPI ErrorKind = "api"
)

// ErrorKinds lists every ErrorKind (for pre-registering metric label values).
func ErrorKinds() []ErrorKind {
	return []ErrorKind{ErrDeploymentMissing, ErrServiceMissing, ErrAdapterDisabled, ErrAdapterMissing,
		ErrForbidden, ErrConflict, ErrChanged, ErrNotLeader, ErrAPI}
}

// Error implements error, so a kind can be matched with errors.Is.
func (k ErrorKind) Error() string { return string(k) }

// Error is what the actuator returns when it cannot apply a decision: what it was doing, on which
// object, the kind, and the underlying API error if any.
type Error struct {
	Kind ErrorKind
	// Op says what was being done ("reading the DGD", "updating the DGDSA scale", ...).
	Op string
	// Namespace and Name identify the object the operation was about.
	Namespace, Name string
	// Err is the underlying error (an API status error), or nil.
	Err error
}

// Error renders "op namespace/name: kind: underlying".
func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s/%s: %s", e.Op, e.Namespace, e.Name, e.Kind)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the kind and the underlying error, so errors.Is matches both.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// KindOf returns the kind of err: "" for nil, the kind of an *Error or ErrorKind in its chain, and
// ErrAPI for anything else.
func KindOf(err error) ErrorKind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var k ErrorKind
	if errors.As(err, &k) {
		return k
	}
	return ErrAPI
}

// apiError classifies an error from the API server: 403 -> ErrForbidden, 409 -> ErrConflict,
// anything else -> ErrAPI. Callers handle 404 themselves, since what is missing decides the kind.
func apiError(op, namespace, name string, err error) *Error {
	kind := ErrAPI
	switch {
	case apierrors.IsForbidden(err):
		kind = ErrForbidden
	case apierrors.IsConflict(err):
		kind = ErrConflict
	}
	return &Error{Kind: kind, Op: op, Namespace: namespace, Name: name, Err: err}
}
