package kubetest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	authnv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// cluster is the package's shared test cluster (nil with -short).
var cluster *Cluster

// crdDir holds the repository's minimal Dynamo (and KEDA) CRD fixtures.
var crdDir = filepath.Join("..", "..", "testdata", "crds")

func TestMain(m *testing.M) {
	os.Exit(Main(m, Options{CRDs: []string{crdDir}}, &cluster))
}

func TestUsersAuthenticate(t *testing.T) {
	c := Require(t, cluster)
	for _, u := range Users() {
		t.Run(string(u), func(t *testing.T) {
			cs, err := kubernetes.NewForConfig(c.Config(u))
			if err != nil {
				t.Fatal(err)
			}
			review, err := cs.AuthenticationV1().SelfSubjectReviews().
				Create(t.Context(), &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("asking who %s is: %v", u, err)
			}
			if diff := cmp.Diff(UserName(u), review.Status.UserInfo.Username); diff != "" {
				t.Errorf("user name (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRBACIsEnforced(t *testing.T) {
	c := Require(t, cluster)
	tests := []struct {
		name      string
		user      User
		forbidden bool
	}{
		{"admin lists namespaces", Admin, false},
		{"tidal without bindings is denied", Tidal, true},
		{"nobody is denied", Nobody, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := kubernetes.NewForConfig(c.Config(tt.user))
			if err != nil {
				t.Fatal(err)
			}
			_, err = cs.CoreV1().Namespaces().List(t.Context(), metav1.ListOptions{})
			if got := apierrors.IsForbidden(err); got != tt.forbidden {
				t.Errorf("forbidden = %v (err %v), want %v", got, err, tt.forbidden)
			}
		})
	}
}

// TestCRDsAreServed checks Start establishes the CRDs it is given before returning.
func TestCRDsAreServed(t *testing.T) {
	c := Require(t, cluster)
	dyn, err := dynamic.NewForConfig(c.Config(Admin))
	if err != nil {
		t.Fatal(err)
	}
	for _, plural := range []string{"dynamographdeployments", "dynamographdeploymentscalingadapters"} {
		t.Run(plural, func(t *testing.T) {
			gvr := schema.GroupVersionResource{Group: "nvidia.com", Version: "v1alpha1", Resource: plural}
			if _, err := dyn.Resource(gvr).Namespace("default").List(t.Context(), metav1.ListOptions{}); err != nil {
				t.Errorf("listing %s: %v", plural, err)
			}
		})
	}
}

func TestApplyCreatesNamespacedObjects(t *testing.T) {
	c := Require(t, cluster)
	ns, err := c.CreateNamespace(t.Context(), "apply")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cm.yaml")
	manifest := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n  namespace: " + ns +
		"\ndata:\n  k: v\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: two\n  namespace: " + ns + "\n"
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(t.Context(), Admin, path); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	cs, err := kubernetes.NewForConfig(c.Config(Admin))
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().ConfigMaps(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cm := range list.Items {
		if cm.Name != "kube-root-ca.crt" {
			names = append(names, cm.Name)
		}
	}
	if diff := cmp.Diff([]string{"one", "two"}, names); diff != "" {
		t.Errorf("config maps (-want +got):\n%s", diff)
	}
}

func TestStartFailsClearlyWithoutBinaries(t *testing.T) {
	tests := []struct {
		name string
		env  string
	}{
		{"no kube-apiserver", APIServerEnv},
		{"no etcd", EtcdEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.env, filepath.Join(t.TempDir(), "missing"))
			c, err := Start(context.Background(), Options{})
			if err == nil {
				t.Fatalf("Start succeeded without the binary (stopping it: %v)", c.Stop())
			}
			if !errors.Is(err, ErrNotInstalled) {
				t.Errorf("error %v does not wrap ErrNotInstalled", err)
			}
		})
	}
}

func TestStartFailsWhenTheServerDies(t *testing.T) {
	// A program that exits at once stands in for a kube-apiserver that cannot start.
	t.Setenv(APIServerEnv, "/bin/false")
	c, err := Start(context.Background(), Options{})
	if err == nil {
		t.Fatalf("Start succeeded with a server that exits (stopping it: %v)", c.Stop())
	}
	if errors.Is(err, ErrNotInstalled) {
		t.Errorf("error %v claims a missing binary; the binary exists and exited", err)
	}
}
