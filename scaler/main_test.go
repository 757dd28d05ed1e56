package scaler_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// cluster is the package's shared etcd + kube-apiserver (nil with -short), with the in-repo Dynamo
// CRD fixtures (testdata/crds: the DGD's status and the DGDSA's scale subresources, the DGDSA's
// validation) and deploy/rbac applied, so kubetest.Tidal holds exactly the
// permissions tidal ships with.
var cluster *kubetest.Cluster

// Paths, relative to this package: the repository root is "..".
var (
	crdDir  = filepath.Join("..", "testdata", "crds")
	rbacDir = filepath.Join("..", "deploy", "rbac")
)

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(m, kubetest.Options{CRDs: []string{crdDir}, Manifests: []string{rbacDir}}, &cluster))
}

// needCluster returns the test cluster; with -short (no cluster) it skips t.
func needCluster(t testing.TB) *kubetest.Cluster {
	t.Helper()
	return kubetest.Require(t, cluster)
}
