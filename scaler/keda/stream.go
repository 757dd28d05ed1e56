package keda

import (
	"sync"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
	"k8s.io/utils/clock"
)

// DefaultKeepAlive is how often an open StreamIsActive resends the current activity when nothing
// changed. KEDA v2.21.0 acts on every pushed true (RequestScale at once, the same as one poll) and
// ignores a pushed false (pkg/scaling/scale_handler.go, startPushScalers), so a resend is harmless
// and re-asserts activity after anything KEDA may have missed. 30 s is KEDA's default
// pollingInterval (apis/keda/v1alpha1, defaultPollingInterval).
const DefaultKeepAlive = 30 * time.Second

// Notifier tells open streams that decisions may have changed.
type Notifier interface {
	// Changed returns a channel that is closed at the next change of any decision.
	Changed() <-chan struct{}
}

// Broadcast is a Notifier woken by Notify. The zero value is ready to use; it is safe for
// concurrent use.
type Broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

// Changed implements Notifier.
func (b *Broadcast) Changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// Notify wakes everyone waiting on a channel from Changed.
func (b *Broadcast) Notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// Stop ends every open stream cleanly (status OK, so KEDA reconnects after 2 s without logging
// an error, reaching another tidal replica through the Service) and makes new ones end at once.
// Serve calls it before stopping the gRPC server, whose graceful stop would otherwise wait for
// streams that never end. Stop is idempotent.
func (s *Server) Stop() {
	s.stopOnce.Do(func() { close(s.stop) })
}

// StreamIsActive implements externalscaler.ExternalScalerServer for trigger type external-push:
// it sends the target's activity (desired > 0) at once, again on every change of it, and every
// KeepAlive otherwise. It ends with the same status IsActive would return once the target has no
// usable decision (Unavailable), is removed (NotFound) or is misconfigured, and with OK when the
// server stops or the client goes away.
func (s *Server) StreamIsActive(ref *externalscaler.ScaledObjectRef, stream grpc.ServerStreamingServer[externalscaler.IsActiveResponse]) error {
	ctx := stream.Context()
	keep := s.ticker()
	defer keep.Stop()
	logger := s.cfg.Logger.With("scaledObject", ref.GetNamespace()+"/"+ref.GetName())
	logger.Debug("KEDA StreamIsActive opened")
	sent, last := false, false
	for {
		changed := s.changed()
		_, _, d, err := s.lookup(ref)
		if err != nil {
			logger.Debug("KEDA StreamIsActive ended: no usable decision", "err", err)
			return err
		}
		if active := d.Replicas > 0; !sent || active != last {
			if err := stream.Send(&externalscaler.IsActiveResponse{Result: active}); err != nil {
				return err
			}
			sent, last = true, active
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.stop:
			logger.Debug("KEDA StreamIsActive ended: the server stops")
			return nil
		case <-changed:
		case <-keep.C():
			sent = false
		}
	}
}

// StreamMetricSpec implements externalscaler.ExternalScalerServer (KEDA v2.21.0+, external-push
// only): it sends the target's spec, the same as GetMetricSpec, at once and holds the stream
// open; tidal's spec of a target never changes, so nothing else is ever sent. KEDA then uses the
// streamed spec instead of calling GetMetricSpec (pkg/scaling/cache/scalers_cache.go,
// CachedMetricSpecs) and re-syncs the HPA once. The stream ends with GetMetricSpec's error once
// the target is removed or misconfigured, and with OK when the server stops or the client goes.
func (s *Server) StreamMetricSpec(ref *externalscaler.ScaledObjectRef, stream grpc.ServerStreamingServer[externalscaler.GetMetricSpecResponse]) error {
	ctx := stream.Context()
	keep := s.ticker()
	defer keep.Stop()
	sent := false
	for {
		changed := s.changed()
		spec, err := s.GetMetricSpec(ctx, ref)
		if err != nil {
			return err
		}
		if !sent {
			if err := stream.Send(spec); err != nil {
				return err
			}
			sent = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.stop:
			return nil
		case <-changed:
		case <-keep.C():
		}
	}
}

// changed returns the notifier's channel, or nil (never ready) without a notifier.
func (s *Server) changed() <-chan struct{} {
	if s.cfg.Changes == nil {
		return nil
	}
	return s.cfg.Changes.Changed()
}

// ticker returns the keepalive ticker, from the configured clock when it has tickers.
func (s *Server) ticker() clock.Ticker {
	if c, ok := s.cfg.Clock.(clock.WithTicker); ok {
		return c.NewTicker(s.cfg.KeepAlive)
	}
	return clock.RealClock{}.NewTicker(s.cfg.KeepAlive)
}
