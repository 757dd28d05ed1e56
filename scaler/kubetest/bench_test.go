package kubetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// sharedCRDs is Dynamo's full CRD folder in the shared data beside the repository, read in place
// (its DGD CRD is 860 KB, so establishing it is a realistic cost); the tests use crdDir.
var sharedCRDs = filepath.Join("..", "..", "..", "shared", "crds")

// BenchmarkStartStop measures a whole cluster's life: etcd and kube-apiserver up and ready, the
// shared Dynamo CRDs established (the in-repo fixtures when ../shared is absent), then both stopped and their folders removed.
//
//	go test -run '^$' -bench StartStop -benchtime 3x ./scaler/kubetest/
func BenchmarkStartStop(b *testing.B) {
	opts := Options{CRDs: []string{crdDir}}
	if _, err := os.Stat(sharedCRDs); err == nil {
		opts.CRDs = []string{sharedCRDs}
	}
	for b.Loop() {
		c, err := Start(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Stop(); err != nil {
			b.Fatal(err)
		}
	}
}
