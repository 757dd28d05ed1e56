package scaler_test

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tidal-planner/tidal/scaler"
)

func TestErrorKinds(t *testing.T) {
	gr := schema.GroupResource{Group: "nvidia.com", Resource: "dynamographdeploymentscalingadapters"}
	notFound := apierrors.NewNotFound(gr, "x")
	tests := []struct {
		name string
		err  error
		want scaler.ErrorKind
	}{
		{"nil", nil, ""},
		{"typed", &scaler.Error{Kind: scaler.ErrAdapterMissing, Op: "op", Err: notFound}, scaler.ErrAdapterMissing},
		{"wrapped typed", fmt.Errorf("tick: %w", &scaler.Error{Kind: scaler.ErrForbidden}), scaler.ErrForbidden},
		{"bare kind", scaler.ErrAdapterDisabled, scaler.ErrAdapterDisabled},
		{"foreign error", errors.New("boom"), scaler.ErrAPI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scaler.KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf = %q, want %q", got, tt.want)
			}
			if tt.want != "" && tt.want != scaler.ErrAPI && !errors.Is(tt.err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", tt.err, tt.want)
			}
		})
	}
}

func TestErrorKeepsTheAPIError(t *testing.T) {
	gr := schema.GroupResource{Group: "nvidia.com", Resource: "dynamographdeploymentscalingadapters"}
	err := fmt.Errorf("tick: %w", &scaler.Error{Kind: scaler.ErrAdapterMissing, Op: "updating", Namespace: "ns",
		Name: "llama-worker", Err: apierrors.NewNotFound(gr, "llama-worker")})
	if !apierrors.IsNotFound(err) {
		t.Errorf("apierrors.IsNotFound(%v) = false; the status error must stay reachable", err)
	}
	if errors.Is(err, scaler.ErrForbidden) {
		t.Errorf("errors.Is(%v, ErrForbidden) = true", err)
	}
}

func TestErrorKindsAreDistinct(t *testing.T) {
	seen := map[scaler.ErrorKind]bool{}
	for _, k := range scaler.ErrorKinds() {
		if seen[k] || k == "" {
			t.Errorf("kind %q repeated or empty", k)
		}
		seen[k] = true
	}
}
