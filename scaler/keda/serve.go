package keda

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
)

// StopGrace bounds how long Serve waits for calls in flight when ctx ends before it cuts them.
const StopGrace = 5 * time.Second

// HealthService is the service name Serve reports in the standard gRPC health service
// (grpc.health.v1.Health), besides the overall status "".
const HealthService = "externalscaler.ExternalScaler"

// streamWorkers per CPU serve RPCs on reused goroutines (grpc.NumStreamWorkers, experimental in
// grpc-go): a fresh goroutine per RPC grew and copied its stack every time, 10-12% of the
// server's CPU in a profile of 5,000 GetMetrics/s (test/keda BenchmarkLoad), gone with workers.
// Long-lived streams hold a worker each; once all are busy gRPC falls back to a goroutine per RPC.
const streamWorkers = 16

// Keepalive settings Serve applies before opts. The server pings a connection idle for
// keepaliveTime (so a KEDA operator that vanished frees its streams) and accepts client pings
// every 10 s or slower, with or without an open stream.
var (
	keepaliveServer = keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}
	keepalivePolicy = keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}
)

// Serve serves s over gRPC on ln (which it closes) until ctx ends, together with the standard
// gRPC health service (SERVING for "" and HealthService while it serves), then stops gracefully:
// health turns NOT_SERVING, open streams end cleanly (Server.Stop), and calls in flight finish,
// for at most StopGrace. opts are passed to grpc.NewServer (for example grpc.Creds for TLS). It
// returns nil after a stop asked for by ctx, else the serving error.
func Serve(ctx context.Context, ln net.Listener, s *Server, opts ...grpc.ServerOption) error {
	opts = append([]grpc.ServerOption{grpc.KeepaliveParams(keepaliveServer), grpc.KeepaliveEnforcementPolicy(keepalivePolicy),
		grpc.NumStreamWorkers(uint32(streamWorkers * runtime.GOMAXPROCS(0)))}, opts...)
	g := grpc.NewServer(opts...)
	s.Register(g)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(HealthService, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(g, hs)
	done := make(chan error, 1)
	go func() { done <- g.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serving the KEDA external scaler on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	hs.Shutdown()
	s.Stop()
	stopped := make(chan struct{})
	go func() {
		g.GracefulStop()
		close(stopped)
	}()
	grace := time.NewTimer(StopGrace)
	defer grace.Stop()
	select {
	case <-stopped:
	case <-grace.C:
		g.Stop()
		<-stopped
	}
	<-done //nolint:errcheck // Serve returns nil after Stop or GracefulStop (grpc.Server.Serve), and the stop was asked for
	return nil
}
