package scaler_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// cluster is the package's shared etcd + kube-apiserver (nil with -short), with the Dynamo CRDs
// loaded from the shared data and deploy/rbac applied, so kubetest.Tidal holds exactly the
// permissions tidal ships with.
var cluster *kubetest.Cluster

// Paths, relative to this package: the repository root is "..", the shared data "../../shared".
var (
	sharedCRDs = filepath.Join("..", "..", "shared", "crds")
	rbacDir    = filepath.Join("..", "deploy", "rbac")
)

func TestMain(m *testing.M) {
	opts := kubetest.Options{Manifests: []string{rbacDir}}
	if _, err := os.Stat(sharedCRDs); err == nil {
		opts.CRDs = []string{sharedCRDs}
	}
	os.Exit(kubetest.Main(m, opts, &cluster))
}

// needCluster skips t without the test cluster or without the shared CRDs.
func needCluster(t testing.TB) *kubetest.Cluster {
	t.Helper()
	c := kubetest.Require(t, cluster)
	if _, err := os.Stat(sharedCRDs); err != nil {
		t.Skipf("the Dynamo CRDs are not at %s (shared data absent): %v", sharedCRDs, err)
	}
	return c
}
