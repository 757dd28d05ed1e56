package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"k8s.io/utils/clock"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
	"github.com/tidal-planner/tidal/scaler/keda"
)

const kedaPolicyYAML = `apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: llama}
spec:
  target: {namespace: llm, deployment: llama, topology: aggregated}
  services:
    - {name: Frontend, role: frontend, minReplicas: 1, maxReplicas: 4, requestsPerSecondPerReplica: 10}
    - {name: Worker, role: aggregated, minReplicas: 0, maxReplicas: 4, gpusPerReplica: 1, actuation: keda}
  slo:
    ttft: {target: 500ms}
    itl: {target: 30ms}
  metrics: {model: m}
  planning: {interval: 30s}
`

func TestLoopDecisions(t *testing.T) {
	p, err := policies.Parse([]byte(kedaPolicyYAML), "test")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	decided := planner.Tick{Policy: p, Time: at, Outcome: planner.OutcomeNoChange, Decision: planner.Decision{
		Services: []planner.ServiceDecision{{Name: "Frontend", Desired: 2}, {Name: "Worker", Desired: 3}}}}
	failed := planner.Tick{Policy: p, Time: at, Outcome: planner.OutcomeFailed}
	tests := []struct {
		name    string
		tick    *planner.Tick // nil: the policy has not ticked
		loaded  []string
		service string
		want    keda.Decision
		wantErr error
	}{
		{"decided", &decided, []string{"llama"}, "Worker", keda.Decision{Replicas: 3, Time: at, Interval: 30 * time.Second}, nil},
		{"not ticked yet", nil, []string{"llama"}, "Worker", keda.Decision{}, keda.ErrNoDecision},
		{"policy not loaded", nil, nil, "Worker", keda.Decision{}, keda.ErrUnknown},
		{"unknown service", &decided, []string{"llama"}, "Decode", keda.Decision{}, keda.ErrUnknown},
		{"service with actuation scale", &decided, []string{"llama"}, "Frontend", keda.Decision{}, keda.ErrNotKEDA},
		{"failed tick", &failed, []string{"llama"}, "Worker", keda.Decision{}, keda.ErrNoDecision},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := loopDecisions{
				latest: func(name string) (planner.Tick, bool) {
					if tt.tick == nil || name != "llama" {
						return planner.Tick{}, false
					}
					return *tt.tick, true
				},
				policies: func() []string { return tt.loaded },
			}
			got, err := l.Desired("llama", tt.service)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decision (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKEDAFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"cert without key", []string{"--keda-listen", ":0", "--keda-tls-cert", "c.pem"}, "go together"},
		{"key without cert", []string{"--keda-listen", ":0", "--keda-tls-key", "k.pem"}, "go together"},
		{"TLS without listen", []string{"--keda-tls-cert", "c.pem", "--keda-tls-key", "k.pem"}, "needs --keda-listen"},
		{"plaintext on every interface", []string{"--keda-listen", ":9443"}, "--keda-insecure"},
		{"plaintext on a pod address", []string{"--keda-listen", "10.0.0.7:9443"}, "--keda-insecure"},
		{"plaintext on every interface, accepted", []string{"--keda-listen", ":9443", "--keda-insecure"}, ""},
		{"plaintext on loopback", []string{"--keda-listen", "127.0.0.1:9443"}, ""},
		{"plaintext on IPv6 loopback", []string{"--keda-listen", "[::1]:9443"}, ""},
		{"plaintext on localhost", []string{"--keda-listen", "localhost:9443"}, ""},
		{"TLS on every interface", []string{"--keda-listen", ":9443", "--keda-tls-cert", "c.pem", "--keda-tls-key", "k.pem"}, ""},
		{"mutual TLS", []string{"--keda-listen", ":9443", "--keda-tls-cert", "c.pem", "--keda-tls-key", "k.pem", "--keda-client-ca", "ca.pem"}, ""},
		{"client CA without TLS", []string{"--keda-listen", "127.0.0.1:9443", "--keda-client-ca", "ca.pem"}, "needs --keda-tls-cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, code, _ := parseRunFlags(append([]string{"--policies", "x"}, tt.args...), io.Discard, io.Discard)
			problem := ""
			if code != 0 {
				problem = f.check(0)
			}
			if (tt.wantErr == "") != (code == 0) || (tt.wantErr != "" && !strings.Contains(problem, tt.wantErr)) {
				t.Errorf("exit code %d, problem %q; want problem containing %q", code, problem, tt.wantErr)
			}
		})
	}
}

// nopPorts satisfy the loop's ports; the loop under test never runs.
type nopPorts struct{}

func (nopPorts) Observe(context.Context, policies.Policy, time.Time) (planner.Observations, error) {
	return planner.Observations{}, nil
}
func (nopPorts) Replicas(context.Context, policies.Policy) ([]planner.ServiceObservation, error) {
	return nil, nil
}
func (nopPorts) Apply(context.Context, policies.Policy, planner.Decision, bool) error { return nil }

// TestRunKEDA serves a loop's decisions on a loopback port, plaintext and with TLS, and checks
// that a policy the loop does not know is NotFound (the loop holds none).
func TestRunKEDA(t *testing.T) {
	cert, key, pool := selfSigned(t)
	tests := []struct {
		name  string
		flags runFlags
		creds credentials.TransportCredentials
	}{
		{"plaintext", runFlags{}, insecure.NewCredentials()},
		{"TLS", runFlags{kedaTLSCert: cert, kedaTLSKey: key}, credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loop, err := planner.NewLoop(planner.LoopConfig{Observer: nopPorts{}, Replicas: nopPorts{}, Applier: nopPorts{}})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			d := deps{clock: clock.RealClock{}, logger: slog.New(slog.DiscardHandler), kedaListener: ln}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- runKEDA(ctx, tt.flags, d, loop) }()
			conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(tt.creds))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_, err = externalscaler.NewExternalScalerClient(conn).IsActive(t.Context(), &externalscaler.ScaledObjectRef{
				ScalerMetadata: map[string]string{"policy": "llama", "service": "Worker"}})
			if got := status.Code(err); got != codes.NotFound {
				t.Errorf("IsActive for a policy the loop does not hold: %v (%v), want NotFound", got, err)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("runKEDA after cancel: %v", err)
			}
		})
	}
}

// selfSigned writes a self-signed ECDSA certificate for 127.0.0.1 and returns the file paths and
// a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(parsed)
	return certFile, keyFile, pool
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkLoopDecisions measures the adapter's part of a KEDA call: the policy and decision
// lookups over a real parsed policy (Loop.Latest's mutex and copy are replaced by a closure).
func BenchmarkLoopDecisions(b *testing.B) {
	p, err := policies.Parse([]byte(kedaPolicyYAML), "bench")
	if err != nil {
		b.Fatal(err)
	}
	tick := planner.Tick{Policy: p, Time: time.Unix(0, 0), Decision: planner.Decision{
		Services: []planner.ServiceDecision{{Name: "Frontend", Desired: 2}, {Name: "Worker", Desired: 3}}}}
	l := loopDecisions{latest: func(string) (planner.Tick, bool) { return tick, true }, policies: func() []string { return nil }}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Desired("llama", "Worker"); err != nil {
			b.Fatal(err)
		}
	}
}

// recorded is a planner.Recorder that keeps the ticks.
type recorded struct{ ticks []planner.Tick }

func (r *recorded) Record(t planner.Tick) { r.ticks = append(r.ticks, t) }

// TestTickNotifier: every tick reaches the recorder and wakes the KEDA streams.
func TestTickNotifier(t *testing.T) {
	rec, changes := &recorded{}, &keda.Broadcast{}
	n := tickNotifier{Recorder: rec, changes: changes}
	waiting := changes.Changed()
	n.Record(planner.Tick{Outcome: planner.OutcomeNoChange})
	select {
	case <-waiting:
	default:
		t.Error("a tick did not wake the streams")
	}
	if len(rec.ticks) != 1 {
		t.Errorf("the recorder got %d ticks, want 1", len(rec.ticks))
	}
}
