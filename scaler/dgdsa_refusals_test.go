package scaler_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// TestScaleRefusesAndWritesNothingElse covers every case where the decision cannot be applied:
// a typed error, a Warning Event on the right object, and no write anywhere (the DGD keeps its
// resourceVersion, no DGDSA appears, existing DGDSAs keep theirs).
func TestScaleRefusesAndWritesNothingElse(t *testing.T) {
	tests := []struct {
		name         string
		withAdapters bool
		user         kubetest.User
		deployment   string
		service      string
		dryRun       bool
		wantKind     scaler.ErrorKind
		wantEvent    recorded
	}{
		{
			name: "DGDSA missing", user: kubetest.Tidal, deployment: dgdName, service: "VllmDecodeWorker",
			wantKind:  scaler.ErrAdapterMissing,
			wantEvent: recorded{Kind: deploymentKind, Name: dgdName, Type: "Warning", Reason: scaler.ReasonAdapterMissing},
		},
		{
			name: "scaling adapter not enabled", withAdapters: true, user: kubetest.Tidal, deployment: dgdName, service: "Frontend",
			wantKind:  scaler.ErrAdapterDisabled,
			wantEvent: recorded{Kind: deploymentKind, Name: dgdName, Type: "Warning", Reason: scaler.ReasonAdapterDisabled},
		},
		{
			name: "no such service", withAdapters: true, user: kubetest.Tidal, deployment: dgdName, service: "Nope",
			wantKind:  scaler.ErrServiceMissing,
			wantEvent: recorded{Kind: deploymentKind, Name: dgdName, Type: "Warning", Reason: scaler.ReasonServiceMissing},
		},
		{
			name: "DGD missing", withAdapters: true, user: kubetest.Tidal, deployment: "ghost", service: "VllmDecodeWorker",
			wantKind:  scaler.ErrDeploymentMissing,
			wantEvent: recorded{Kind: deploymentKind, Name: "ghost", Type: "Warning", Reason: scaler.ReasonDeploymentMissing},
		},
		{
			name: "403 for an identity without tidal's RBAC", withAdapters: true, user: kubetest.Nobody,
			deployment: dgdName, service: "VllmDecodeWorker",
			wantKind:  scaler.ErrForbidden,
			wantEvent: recorded{Kind: deploymentKind, Name: dgdName, Type: "Warning", Reason: scaler.ReasonScaleForbidden},
		},
		{
			name: "403 in dry-run too", withAdapters: true, user: kubetest.Nobody, dryRun: true,
			deployment: dgdName, service: "VllmDecodeWorker",
			wantKind:  scaler.ErrForbidden,
			wantEvent: recorded{Kind: deploymentKind, Name: dgdName, Type: "Warning", Reason: scaler.ReasonScaleForbidden},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.withAdapters)
			dgdBefore, adaptersBefore := w.dgdVersion(), w.adapterVersions()
			a := w.actuator(tt.user, nil, wait.Backoff{})
			_, err := a.Scale(t.Context(), scaler.Request{
				Namespace: w.ns, Deployment: tt.deployment, Service: tt.service, Replicas: 7, From: 3, DryRun: tt.dryRun,
			})
			if !errors.Is(err, tt.wantKind) || scaler.KindOf(err) != tt.wantKind {
				t.Fatalf("Scale error %v (kind %q), want kind %q", err, scaler.KindOf(err), tt.wantKind)
			}
			if diff := cmp.Diff([]recorded{tt.wantEvent}, w.events.got()); diff != "" {
				t.Errorf("Events (-want +got):\n%s", diff)
			}
			if got := w.dgdVersion(); got != dgdBefore {
				t.Errorf("the DGD was written (resourceVersion %s -> %s)", dgdBefore, got)
			}
			if diff := cmp.Diff(adaptersBefore, w.adapterVersions()); diff != "" {
				t.Errorf("DGDSAs changed (-before +after):\n%s", diff)
			}
			if tt.user == kubetest.Tidal { // Nobody may not record Events; its attempt is only logged
				w.waitEvent(tt.wantEvent.Reason, tt.wantEvent.Kind, tt.wantEvent.Name)
			}
		})
	}
}
