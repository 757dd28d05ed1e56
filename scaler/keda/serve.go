package keda

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
)

// StopGrace bounds how long Serve waits for calls in flight when ctx ends before it cuts them.
const StopGrace = 5 * time.Second

// Serve serves s over gRPC on ln (which it closes) until ctx ends, then stops gracefully: calls
// in flight finish, for at most StopGrace. opts are passed to grpc.NewServer (for example
// grpc.Creds for TLS). It returns nil after a stop asked for by ctx, else the serving error.
func Serve(ctx context.Context, ln net.Listener, s *Server, opts ...grpc.ServerOption) error {
	g := grpc.NewServer(opts...)
	s.Register(g)
	done := make(chan error, 1)
	go func() { done <- g.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serving the KEDA external scaler on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
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
	<-done
	return nil
}
