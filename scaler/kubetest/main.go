package kubetest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"testing"
)

// Main is a TestMain body: it starts one Cluster for the package (stored in *cluster), runs the
// tests and stops the cluster, returning the exit code for os.Exit:
//
//	var cluster *kubetest.Cluster
//
//	func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, kubetest.Options{CRDs: ...}, &cluster)) }
//
// With -short, or with TIDAL_SKIP_KUBE=1 when a binary is missing, no cluster starts, *cluster
// stays nil and tests that call Require skip. Any other start failure fails the package at once,
// with the reason, before a test runs.
func Main(m *testing.M, opts Options, cluster **Cluster) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	if testing.Short() {
		return m.Run()
	}
	c, err := Start(context.Background(), opts)
	switch {
	case err != nil && errors.Is(err, ErrNotInstalled) && os.Getenv(SkipEnv) == "1":
		fmt.Fprintf(os.Stderr, "kubetest: %v; skipping the Kubernetes integration tests (%s=1)\n", err, SkipEnv)
		return m.Run()
	case err != nil:
		fmt.Fprintf(os.Stderr, "kubetest: starting etcd and kube-apiserver: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "kubetest: kube-apiserver %s up at %s\n", KubeVersion, c.Host())
	*cluster = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kubetest: stopping the cluster: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Require skips t when no cluster was started (see Main) and returns c otherwise.
func Require(t testing.TB, c *Cluster) *Cluster {
	t.Helper()
	if c == nil {
		t.Skipf("no Kubernetes test cluster (-short, or %s=1 with binaries missing)", SkipEnv)
	}
	return c
}
