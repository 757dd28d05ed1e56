package keda_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tidal-planner/tidal/scaler/keda"
)

// testCA is a throw-away certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key signed by ca, for 127.0.0.1 (server) or a client.
func (ca testCA) issue(t *testing.T, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "keda"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if server {
		tmpl.ExtKeyUsage, tmpl.IPAddresses = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// serveTLS serves a Server with TLSConfig(files) on a loopback port and returns its address.
func serveTLS(t *testing.T, files keda.TLSFiles) string {
	t.Helper()
	cfg, err := keda.TLSConfig(files, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
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
	go func() { served <- keda.Serve(ctx, ln, srv, grpc.Creds(credentials.NewTLS(cfg))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// check dials addr on a new connection trusting roots, with an optional client certificate,
// and returns the code of a health check.
func check(t *testing.T, addr string, roots []byte, clientCert, clientKey []byte) codes.Code {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(roots)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if clientCert != nil {
		c, err := tls.X509KeyPair(clientCert, clientKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: keda.HealthService})
	if err == nil && resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health of %s: %v, want SERVING", keda.HealthService, resp.Status)
	}
	return status.Code(err)
}

func TestMutualTLS(t *testing.T) {
	serverCA, clientCA, otherCA := newCA(t, "server CA"), newCA(t, "client CA"), newCA(t, "other CA")
	dir := t.TempDir()
	files := keda.TLSFiles{Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key"), ClientCA: filepath.Join(dir, "ca.crt")}
	cert, key := serverCA.issue(t, true)
	writeFile(t, files.Cert, cert)
	writeFile(t, files.Key, key)
	writeFile(t, files.ClientCA, clientCA.pem)
	addr := serveTLS(t, files)
	goodCert, goodKey := clientCA.issue(t, false)
	badCert, badKey := otherCA.issue(t, false)
	tests := []struct {
		name       string
		cert, key  []byte
		wantRefuse bool
	}{
		{"client certificate from the client CA", goodCert, goodKey, false},
		{"no client certificate", nil, nil, true},
		{"client certificate from another CA", badCert, badKey, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(t, addr, serverCA.pem, tt.cert, tt.key)
			if (got != codes.OK) != tt.wantRefuse {
				t.Errorf("health check: %v, want refused=%v", got, tt.wantRefuse)
			}
		})
	}
}

// TestTLSReload rotates the server's certificate to one from another CA, then the client CA,
// and checks that new connections see each change at once, and that files that do not load
// leave the last good ones in use.
func TestTLSReload(t *testing.T) {
	ca1, ca2 := newCA(t, "CA 1"), newCA(t, "CA 2")
	clientCA1, clientCA2 := newCA(t, "client CA 1"), newCA(t, "client CA 2")
	dir := t.TempDir()
	files := keda.TLSFiles{Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key"), ClientCA: filepath.Join(dir, "ca.crt")}
	cert1, key1 := ca1.issue(t, true)
	cert2, key2 := ca2.issue(t, true)
	c1, k1 := clientCA1.issue(t, false)
	c2, k2 := clientCA2.issue(t, false)
	writeFile(t, files.Cert, cert1)
	writeFile(t, files.Key, key1)
	writeFile(t, files.ClientCA, clientCA1.pem)
	addr := serveTLS(t, files)
	steps := []struct {
		name       string
		rotate     func()
		roots      []byte
		cert, key  []byte
		wantRefuse bool
	}{
		{"before: CA 1 trusted", func() {}, ca1.pem, c1, k1, false},
		{"server certificate rotated: CA 1 no longer matches", func() {
			writeFile(t, files.Cert, cert2)
			writeFile(t, files.Key, key2)
		}, ca1.pem, c1, k1, true},
		{"server certificate rotated: CA 2 matches", func() {}, ca2.pem, c1, k1, false},
		{"client CA rotated: the old client certificate is refused", func() { writeFile(t, files.ClientCA, clientCA2.pem) }, ca2.pem, c1, k1, true},
		{"client CA rotated: the new client certificate is accepted", func() {}, ca2.pem, c2, k2, false},
		{"a half-written key: the last good pair stays", func() { writeFile(t, files.Key, key1) }, ca2.pem, c2, k2, false},
		{"a missing client CA file: the last good one stays", func() {
			if err := os.Remove(files.ClientCA); err != nil {
				t.Fatal(err)
			}
		}, ca2.pem, c2, k2, false},
	}
	for _, s := range steps {
		s.rotate()
		got := check(t, addr, s.roots, s.cert, s.key)
		if (got != codes.OK) != s.wantRefuse {
			t.Errorf("%s: health check %v, want refused=%v", s.name, got, s.wantRefuse)
		}
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "CA")
	cert, key := ca.issue(t, true)
	good := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, b)
		return p
	}
	certFile, keyFile := good("tls.crt", cert), good("tls.key", key)
	tests := []struct {
		name  string
		files keda.TLSFiles
	}{
		{"no key", keda.TLSFiles{Cert: certFile}},
		{"missing certificate file", keda.TLSFiles{Cert: filepath.Join(dir, "nope"), Key: keyFile}},
		{"key of another certificate", keda.TLSFiles{Cert: certFile, Key: good("other.key", func() []byte { _, k := ca.issue(t, true); return k }())}},
		{"client CA file without a certificate", keda.TLSFiles{Cert: certFile, Key: keyFile, ClientCA: good("empty.crt", []byte("not PEM"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := keda.TLSConfig(tt.files, nil); err == nil {
				t.Error("no error")
			}
		})
	}
}
