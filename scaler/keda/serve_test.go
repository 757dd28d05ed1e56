package keda_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tidal-planner/tidal/scaler/keda"
)

// TestServeLoopback serves on a real TCP loopback port, answers a call, and returns nil once
// its context ends.
func TestServeLoopback(t *testing.T) {
	srv, err := keda.New(keda.Config{Decisions: world(), Clock: clocktesting.NewFakePassiveClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- keda.Serve(ctx, ln, srv) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m, err := externalscaler.NewExternalScalerClient(conn).GetMetrics(context.Background(),
		&externalscaler.GetMetricsRequest{ScaledObjectRef: ref("llama", "decode")})
	if err != nil {
		t.Fatalf("GetMetrics over TCP: %v", err)
	}
	if got := m.MetricValues[0].MetricValue; got != 4 {
		t.Errorf("GetMetrics over TCP: %d, want 4", got)
	}
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
}

// TestServeEndsStreams: stopping Serve ends an open StreamIsActive cleanly (io.EOF at the
// client), so the graceful stop does not wait for it, and the health service is served.
func TestServeEndsStreams(t *testing.T) {
	srv, err := keda.New(keda.Config{Decisions: world(), Clock: clocktesting.NewFakePassiveClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- keda.Serve(ctx, ln, srv) }()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{Service: keda.HealthService})
	if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health of %s: %v %v, want SERVING", keda.HealthService, h.GetStatus(), err)
	}
	st, err := externalscaler.NewExternalScalerClient(conn).StreamIsActive(t.Context(), ref("llama", "decode"))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := st.Recv(); err != nil || !m.Result {
		t.Fatalf("first push: %v %v, want true", m, err)
	}
	cancel()
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("stream after the server stopped: %v, want io.EOF (a clean end)", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
}
