package scaler_test

import (
	"context"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// TestShippedRBACIsLeastPrivilege acts as the tidal ServiceAccount, which holds exactly what
// deploy/rbac grants (TestMain applies that folder unchanged), and checks every permission tidal
// needs is there and that writes to anything else are refused with 403.
func TestShippedRBACIsLeastPrivilege(t *testing.T) {
	w := newWorld(t, true)
	cfg := w.cluster.Config(kubetest.Tidal)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	adapter := scaler.AdapterName(dgdName, "VllmDecodeWorker")
	dgds := dyn.Resource(scaler.DeploymentResource).Namespace(w.ns)
	dgdsas := dyn.Resource(scaler.AdapterResource).Namespace(w.ns)
	tests := []struct {
		name    string
		allowed bool
		call    func(ctx context.Context) error
	}{
		{"get a DGD", true, func(ctx context.Context) error {
			_, err := dgds.Get(ctx, dgdName, metav1.GetOptions{})
			return err
		}},
		{"list DGDs in all namespaces", true, func(ctx context.Context) error {
			_, err := dyn.Resource(scaler.DeploymentResource).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"watch DGDs", true, func(ctx context.Context) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			wi, err := dgds.Watch(ctx, metav1.ListOptions{})
			if err == nil {
				cancel()
				wi.Stop()
			}
			return err
		}},
		{"get a DGDSA", true, func(ctx context.Context) error {
			_, err := dgdsas.Get(ctx, adapter, metav1.GetOptions{})
			return err
		}},
		{"get and update a DGDSA's scale", true, func(ctx context.Context) error {
			u, err := dgdsas.Get(ctx, adapter, metav1.GetOptions{}, "scale")
			if err != nil {
				return err
			}
			_, err = dgdsas.Update(ctx, u, metav1.UpdateOptions{}, "scale")
			return err
		}},
		{"create an Event", true, func(ctx context.Context) error {
			_, err := cs.EventsV1().Events(w.ns).Create(ctx, testEvent(w.ns), metav1.CreateOptions{})
			return err
		}},
		{"create, get and update its Lease", true, func(ctx context.Context) error {
			return touchLease(ctx, cs, "tidal")
		}},
		{"patch a DGD", false, func(ctx context.Context) error {
			_, err := dgds.Patch(ctx, dgdName, types.MergePatchType,
				[]byte(`{"spec":{"services":{"VllmDecodeWorker":{"replicas":9}}}}`), metav1.PatchOptions{})
			return err
		}},
		{"update a DGD", false, func(ctx context.Context) error {
			u, err := w.dgds().Get(ctx, dgdName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			_, err = dgds.Update(ctx, u, metav1.UpdateOptions{})
			return err
		}},
		{"update a DGDSA (not its scale)", false, func(ctx context.Context) error {
			u, err := dgdsas.Get(ctx, adapter, metav1.GetOptions{})
			if err != nil {
				return err
			}
			_ = unstructured.SetNestedField(u.Object, int64(9), "spec", "replicas")
			_, err = dgdsas.Update(ctx, u, metav1.UpdateOptions{})
			return err
		}},
		{"patch a DGDSA's scale", false, func(ctx context.Context) error {
			_, err := dgdsas.Patch(ctx, adapter, types.MergePatchType, []byte(`{"spec":{"replicas":9}}`),
				metav1.PatchOptions{}, "scale")
			return err
		}},
		{"create a DGDSA", false, func(ctx context.Context) error {
			u, err := w.adapters().Get(ctx, adapter, metav1.GetOptions{})
			if err != nil {
				return err
			}
			u.SetName("extra")
			u.SetResourceVersion("")
			_, err = dgdsas.Create(ctx, u, metav1.CreateOptions{})
			return err
		}},
		{"delete a DGDSA", false, func(ctx context.Context) error {
			return dgdsas.Delete(ctx, adapter, metav1.DeleteOptions{})
		}},
		{"read secrets", false, func(ctx context.Context) error {
			_, err := cs.CoreV1().Secrets(w.ns).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"scale a Deployment", false, func(ctx context.Context) error {
			_, err := cs.AppsV1().Deployments(w.ns).GetScale(ctx, "anything", metav1.GetOptions{})
			return err
		}},
		{"update another Lease", false, func(ctx context.Context) error {
			return touchLease(ctx, cs, "not-tidal")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t.Context())
			switch {
			case tt.allowed && err != nil:
				t.Errorf("tidal's ServiceAccount must be allowed to %s: %v", tt.name, err)
			case !tt.allowed && !apierrors.IsForbidden(err):
				t.Errorf("tidal's ServiceAccount must be denied to %s (403), got %v", tt.name, err)
			}
		})
	}
}

// testEvent is a minimal events.k8s.io/v1 Event.
func testEvent(ns string) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{GenerateName: "rbac-", Namespace: ns},
		EventTime:           metav1.NowMicro(),
		ReportingController: scaler.ReportingController, ReportingInstance: "test",
		Action: scaler.EventAction, Reason: "RBACCheck", Type: corev1.EventTypeNormal,
		Regarding: corev1.ObjectReference{
			APIVersion: scaler.DeploymentResource.GroupVersion().String(), Kind: "DynamoGraphDeployment",
			Namespace: ns, Name: dgdName,
		},
	}
}

// touchLease creates the named Lease in tidal's namespace if it is missing, then gets and updates
// it, as leader election does.
func touchLease(ctx context.Context, cs kubernetes.Interface, name string) error {
	leases := cs.CoordinationV1().Leases(kubetest.TidalNamespace)
	holder := "rbac-test"
	_, err := leases.Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// TestScaleForbiddenOnTheWrite grants Nobody, in one namespace, everything tidal needs except
// updating the scale: the DGD reads, the /scale read succeeds, and the update (real or server-side
// dry-run) is refused with 403, a ScaleForbidden Event on the DGDSA and no write.
func TestScaleForbiddenOnTheWrite(t *testing.T) {
	for _, dryRun := range []bool{false, true} {
		name := map[bool]string{false: "apply", true: "dry-run"}[dryRun]
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, true)
			grantReadOnly(t, w, kubetest.Nobody)
			_, before := w.adapter("VllmDecodeWorker")
			a := w.actuator(kubetest.Nobody, nil, wait.Backoff{})
			_, err := a.Scale(t.Context(), scaler.Request{
				Namespace: w.ns, Deployment: dgdName, Service: "VllmDecodeWorker", Replicas: 7, From: 3, DryRun: dryRun,
			})
			if scaler.KindOf(err) != scaler.ErrForbidden {
				t.Fatalf("Scale error %v (kind %q), want kind %q", err, scaler.KindOf(err), scaler.ErrForbidden)
			}
			adapterName := scaler.AdapterName(dgdName, "VllmDecodeWorker")
			want := recorded{Kind: adapterKind, Name: adapterName, Type: "Warning", Reason: scaler.ReasonScaleForbidden}
			if got := w.events.got(); len(got) != 1 || got[0] != want {
				t.Errorf("Events %+v, want [%+v]", got, want)
			}
			if got, after := w.adapter("VllmDecodeWorker"); got != 3 || after != before {
				t.Errorf("the DGDSA changed: replicas %d (want 3), resourceVersion %s -> %s", got, before, after)
			}
		})
	}
}

// grantReadOnly binds user, in w's namespace, to reading DGDs, DGDSAs and their scale.
func grantReadOnly(t *testing.T, w *world, user kubetest.User) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(w.cluster.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "read-only", Namespace: w.ns},
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{"nvidia.com"},
			Resources: []string{"dynamographdeployments", "dynamographdeploymentscalingadapters", "dynamographdeploymentscalingadapters/scale"},
			Verbs:     []string{"get"},
		}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "read-only", Namespace: w.ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "read-only"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: kubetest.UserName(user)}},
	}
	if _, err := cs.RbacV1().Roles(w.ns).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(w.ns).Create(t.Context(), binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAllowed(t, cs, w.ns, user, "dynamographdeploymentscalingadapters", "scale")
}

// waitAllowed polls until the API server's authorizer lets user get the resource (and subresource)
// in ns: the RBAC authorizer reads bindings from an informer cache, so a RoleBinding just created
// may not be in force yet, and a test that used it at once would flake with a 403.
func waitAllowed(t *testing.T, cs kubernetes.Interface, ns string, user kubetest.User, resource, sub string) {
	t.Helper()
	review := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
		User: kubetest.UserName(user),
		ResourceAttributes: &authzv1.ResourceAttributes{Namespace: ns, Verb: "get", Group: "nvidia.com",
			Resource: resource, Subresource: sub},
	}}
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, 30*time.Second, true,
		func(ctx context.Context) (bool, error) {
			got, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			return err == nil && got.Status.Allowed, err
		})
	if err != nil {
		t.Fatalf("waiting for %s to be allowed to get %s/%s in %s: %v", user, resource, sub, ns, err)
	}
}
