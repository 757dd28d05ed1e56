package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
	"github.com/tidal-planner/tidal/scaler/keda"
)

// loopDecisions implements keda.Decisions over the planning loop's latest ticks (memory only).
type loopDecisions struct {
	latest   func(policy string) (planner.Tick, bool)
	policies func() []string
}

// newLoopDecisions reads loop's decisions.
func newLoopDecisions(loop *planner.Loop) loopDecisions {
	return loopDecisions{latest: loop.Latest, policies: loop.Policies}
}

// Desired implements keda.Decisions.
func (l loopDecisions) Desired(policy, service string) (keda.Decision, error) {
	t, ok := l.latest(policy)
	qp, qs := policies.Clip(policy), policies.Clip(service) // the caller's strings, as echoed
	if !ok {
		if slices.Contains(l.policies(), policy) {
			return keda.Decision{}, fmt.Errorf("policy %q has not completed its first tick: %w", qp, keda.ErrNoDecision)
		}
		return keda.Decision{}, fmt.Errorf("policy %q is not loaded: %w", qp, keda.ErrUnknown)
	}
	svc, ok := t.Policy.Service(service)
	if !ok {
		return keda.Decision{}, fmt.Errorf("policy %q has no service %q: %w", qp, qs, keda.ErrUnknown)
	}
	if svc.Actuation != policies.ActuationKEDA {
		return keda.Decision{}, fmt.Errorf("policy %q service %q has actuation %q, not %q: %w",
			qp, qs, svc.Actuation, policies.ActuationKEDA, keda.ErrNotKEDA)
	}
	d, ok := t.Decision.Service(service)
	if !ok || t.Outcome == planner.OutcomeFailed {
		return keda.Decision{}, fmt.Errorf("policy %q service %q: the last tick decided nothing: %w", qp, qs, keda.ErrNoDecision)
	}
	return keda.Decision{Replicas: d.Desired, Time: t.Time, Interval: t.Policy.Planning.Interval}, nil
}

// listenKEDA opens the KEDA external scaler's listener: ln when given (tests), else addr; nil
// when the scaler is off (addr empty).
func listenKEDA(addr string, ln net.Listener) (net.Listener, error) {
	if ln != nil || addr == "" {
		return ln, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for the KEDA external scaler on %s: %w", addr, err)
	}
	return l, nil
}

// runKEDA listens and serves the loop's decisions to KEDA until ctx ends, with TLS when the
// flags name a certificate and key.
func runKEDA(ctx context.Context, f runFlags, d deps, loop *planner.Loop) error {
	srv, err := keda.New(keda.Config{Decisions: newLoopDecisions(loop), Clock: d.clock, Logger: d.logger})
	if err != nil {
		return err
	}
	opts, err := kedaServerOptions(f)
	if err != nil {
		return err
	}
	ln, err := listenKEDA(f.kedaListen, d.kedaListener)
	if err != nil {
		return err
	}
	d.logger.Info("serving the KEDA external scaler", "addr", ln.Addr().String(), "tls", f.kedaTLSCert != "")
	return keda.Serve(ctx, ln, srv, opts...)
}

// kedaServerOptions returns the gRPC server options the flags ask for: TLS credentials from
// --keda-tls-cert/--keda-tls-key (read once at start), else none (plaintext).
func kedaServerOptions(f runFlags) ([]grpc.ServerOption, error) {
	if f.kedaTLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(f.kedaTLSCert, f.kedaTLSKey)
	if err != nil {
		return nil, fmt.Errorf("loading the KEDA external scaler's TLS key pair: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(cfg))}, nil
}
