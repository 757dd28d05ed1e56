package keda

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// TLSFiles names the PEM files of the external scaler's TLS.
type TLSFiles struct {
	// Cert and Key are the server's certificate (chain) and private key; both are required.
	Cert, Key string
	// ClientCA, when set, turns on mutual TLS: a client must present a certificate signed by one
	// of these CAs (KEDA's tlsClientCert/tlsClientKey in a TriggerAuthentication).
	ClientCA string
}

// TLSConfig returns a server TLS configuration (TLS 1.2 or newer, ALPN h2 for gRPC) over files.
// The files are read now (an error if they do not load) and again at every TLS handshake: when
// their contents changed (cert-manager rotated the Secret) the new ones are used from that
// handshake on, with no restart; files that do not load then are logged at Error and the last
// good ones stay in use. Connections already open keep the certificate they started with.
func TLSConfig(files TLSFiles, logger *slog.Logger) (*tls.Config, error) {
	if files.Cert == "" || files.Key == "" {
		return nil, errors.New("the KEDA external scaler's TLS needs both a certificate and a key file")
	}
	if logger == nil {
		logger = slog.Default()
	}
	r := &tlsReloader{files: files, logger: logger}
	if _, err := r.reload(); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}, GetConfigForClient: r.forClient}, nil
}

// tlsReloader holds the files' last good contents and the configuration built from them.
type tlsReloader struct {
	files  TLSFiles
	logger *slog.Logger

	mu     sync.Mutex
	pems   [3][]byte // cert, key, client CA as last loaded
	config *tls.Config
}

// forClient implements tls.Config.GetConfigForClient.
func (r *tlsReloader) forClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	cfg, err := r.reload()
	if err != nil {
		r.logger.Error("the KEDA external scaler's TLS files do not load; serving the last good ones", "err", err)
	}
	return cfg, nil
}

// reload reads the files and rebuilds the configuration if they changed. It returns the
// configuration in use, and the error of files that did not load.
func (r *tlsReloader) reload() (*tls.Config, error) {
	var pems [3][]byte
	for i, name := range []string{r.files.Cert, r.files.Key, r.files.ClientCA} {
		if name == "" {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return r.current(), fmt.Errorf("reading the KEDA external scaler's TLS files: %w", err)
		}
		pems[i] = b
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.config != nil && bytes.Equal(pems[0], r.pems[0]) && bytes.Equal(pems[1], r.pems[1]) && bytes.Equal(pems[2], r.pems[2]) {
		return r.config, nil
	}
	cfg, err := buildTLS(r.files, pems)
	if err != nil {
		return r.config, err
	}
	if r.config != nil {
		r.logger.Info("reloaded the KEDA external scaler's TLS files", "cert", r.files.Cert, "clientCA", r.files.ClientCA)
	}
	r.pems, r.config = pems, cfg
	return cfg, nil
}

// current returns the configuration in use.
func (r *tlsReloader) current() *tls.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.config
}

// buildTLS parses the files' contents into a server configuration.
func buildTLS(files TLSFiles, pems [3][]byte) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(pems[0], pems[1])
	if err != nil {
		return nil, fmt.Errorf("the KEDA external scaler's key pair %s, %s: %w", files.Cert, files.Key, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2"}, Certificates: []tls.Certificate{cert}}
	if files.ClientCA != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pems[2]) {
			return nil, fmt.Errorf("the KEDA external scaler's client CA file %s: no PEM certificate in it", files.ClientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
