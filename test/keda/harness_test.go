package keda

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/tidal-planner/tidal/scaler/keda"
)

// decisions is a hand-written keda.Decisions over a map keyed by "policy/service"; a key mapped
// to an error returns it. Tests change it while KEDA's client runs.
type decisions struct {
	mu   sync.Mutex
	d    map[string]keda.Decision
	errs map[string]error
}

func newDecisions() *decisions {
	return &decisions{d: map[string]keda.Decision{}, errs: map[string]error{}}
}

func (f *decisions) Desired(policy, service string) (keda.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := policy + "/" + service
	if err, ok := f.errs[k]; ok {
		return keda.Decision{}, err
	}
	if d, ok := f.d[k]; ok {
		return d, nil
	}
	return keda.Decision{}, fmt.Errorf("policy %q service %q: %w", policy, service, keda.ErrUnknown)
}

// decide sets a fresh decision of replicas for policy/service.
func (f *decisions) decide(key string, replicas int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.errs, key)
	f.d[key] = keda.Decision{Replicas: replicas, Time: time.Now(), Interval: time.Minute}
}

// fail makes policy/service answer err.
func (f *decisions) fail(key string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[key] = err
}

// counter counts the RPCs tidal answered, by method.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	c.mu.Lock()
	c.n[filepath.Base(info.FullMethod)]++
	c.mu.Unlock()
	return h(ctx, req)
}

// take returns the counts so far and resets them.
func (c *counter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// tidal is a running tidal KEDA external scaler.
type tidal struct {
	addr      string
	decisions *decisions
	changes   *keda.Broadcast
	calls     *counter
	stop      func()
}

// startTidal serves tidal's KEDA external scaler on a loopback port with opts (TLS) until the
// test ends or stop is called.
func startTidal(t testing.TB, opts ...grpc.ServerOption) *tidal {
	t.Helper()
	d, b, c := newDecisions(), &keda.Broadcast{}, &counter{n: map[string]int{}}
	srv, err := keda.New(keda.Config{Decisions: d, Changes: b, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- keda.Serve(ctx, ln, srv, append(opts, grpc.ChainUnaryInterceptor(c.unary))...) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-served; err != nil {
				t.Errorf("keda.Serve: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &tidal{addr: ln.Addr().String(), decisions: d, changes: b, calls: c, stop: stop}
}

// pki is a throw-away CA with a server certificate for 127.0.0.1 and a client certificate, as
// PEM files (for tidal) and PEM strings (for KEDA's authParams).
type pki struct {
	caPEM, serverCert, serverKey, clientCert, clientKey string
	files                                               keda.TLSFiles // server side, ClientCA set
}

func newPKI(t testing.TB) pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, server bool) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "keda-operator"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		if server {
			tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	}
	p := pki{caPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))}
	p.serverCert, p.serverKey = issue(2, true)
	p.clientCert, p.clientKey = issue(3, false)
	dir := t.TempDir()
	p.files = keda.TLSFiles{Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key"), ClientCA: filepath.Join(dir, "ca.crt")}
	for name, s := range map[string]string{p.files.Cert: p.serverCert, p.files.Key: p.serverKey, p.files.ClientCA: p.caPEM} {
		if err := os.WriteFile(name, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p
}
