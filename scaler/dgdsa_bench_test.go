package scaler_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// BenchmarkScale measures one Scale call against the real API server on loopback, as tidal's
// ServiceAccount: "unchanged" is the steady state of most ticks (read the DGD, read /scale, no
// write); "change" adds the update and the Event.
//
//	go test -run '^$' -bench Scale -benchtime 200x ./scaler/
func BenchmarkScale(b *testing.B) {
	w := newWorld(b, true)
	a := w.actuator(kubetest.Tidal, nil, wait.Backoff{})
	req := scaler.Request{Namespace: w.ns, Deployment: dgdName, Service: "VllmDecodeWorker", Replicas: 3}
	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.Scale(b.Context(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("change", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			req.From, req.Replicas = req.Replicas, 4+int32(i%2)
			if _, err := a.Scale(b.Context(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
