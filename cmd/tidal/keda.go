package main

import (
	"context"
	"fmt"
	"log/slog"
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

// loopback reports whether a listen address binds only the loopback interface (an empty host,
// as in ":9443", binds every interface).
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tickNotifier passes every tick on to the recorder and wakes the KEDA streams.
type tickNotifier struct {
	planner.Recorder
	changes *keda.Broadcast
}

// Record implements planner.Recorder.
func (n tickNotifier) Record(t planner.Tick) {
	n.Recorder.Record(t)
	n.changes.Notify()
}

// runKEDA listens and serves the loop's decisions to KEDA until ctx ends, with TLS when the
// flags name a certificate and key (and mutual TLS with --keda-client-ca).
func runKEDA(ctx context.Context, f runFlags, d deps, loop *planner.Loop) error {
	cfg := keda.Config{Decisions: newLoopDecisions(loop), Clock: d.clock, Logger: d.logger}
	if d.kedaChanges != nil {
		cfg.Changes = d.kedaChanges
	}
	srv, err := keda.New(cfg)
	if err != nil {
		return err
	}
	opts, err := kedaServerOptions(f, d.logger)
	if err != nil {
		return err
	}
	ln, err := listenKEDA(f.kedaListen, d.kedaListener)
	if err != nil {
		return err
	}
	d.logger.Info("serving the KEDA external scaler", "addr", ln.Addr().String(), "tls", f.kedaTLSCert != "", "mtls", f.kedaClientCA != "")
	return keda.Serve(ctx, ln, srv, opts...)
}

// kedaServerOptions returns the gRPC server options the flags ask for: TLS from
// --keda-tls-cert/--keda-tls-key (and --keda-client-ca), re-read when the files change, else
// none (plaintext).
func kedaServerOptions(f runFlags, logger *slog.Logger) ([]grpc.ServerOption, error) {
	if f.kedaTLSCert == "" {
		return nil, nil
	}
	cfg, err := keda.TLSConfig(keda.TLSFiles{Cert: f.kedaTLSCert, Key: f.kedaTLSKey, ClientCA: f.kedaClientCA}, logger)
	if err != nil {
		return nil, err
	}
	return []grpc.ServerOption{grpc.Creds(credentials.NewTLS(cfg))}, nil
}
