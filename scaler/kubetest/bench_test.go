package kubetest

import (
	"context"
	"os"
	"testing"
)

// BenchmarkStartStop measures a whole cluster's life: etcd and kube-apiserver up and ready, the
// shared Dynamo CRDs (when present) established, then both stopped and their folders removed.
//
//	go test -run '^$' -bench StartStop -benchtime 3x ./scaler/kubetest/
func BenchmarkStartStop(b *testing.B) {
	var opts Options
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
