package kubetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
)

// Options tune Start. The zero value is usable.
type Options struct {
	// CRDs lists CRD manifest files or folders of them (*.yaml, *.yml, *.json) to create and wait
	// for (Established) before Start returns.
	CRDs []string
	// Manifests lists manifest files or folders to apply as Admin after the CRDs (for example
	// deploy/rbac), in order.
	Manifests []string
	// StartTimeout bounds the whole start, CRDs included (default 2 minutes).
	StartTimeout time.Duration
}

// Cluster is a running etcd and kube-apiserver. Its methods are safe for concurrent use; Stop
// must be called exactly once.
type Cluster struct {
	dir       string // temporary folder: keys, token file, certificates, logs
	etcdDir   string // etcd's data (on tmpfs when /dev/shm exists)
	host      string // https://127.0.0.1:port
	caData    []byte
	tokens    map[User]string
	etcd      *process
	apiserver *process
}

// Start starts etcd and kube-apiserver on free loopback ports, loads opts.CRDs and applies
// opts.Manifests. It fails with an
// error wrapping ErrNotInstalled when a binary is missing, and within opts.StartTimeout when a
// program does not come up. The caller must Stop the cluster.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	etcdBin, err := EtcdPath()
	if err != nil {
		return nil, err
	}
	apiBin, err := APIServerPath()
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		c, err := startOnce(ctx, etcdBin, apiBin)
		if err == nil {
			if err := c.LoadCRDs(ctx, opts.CRDs...); err != nil {
				return nil, errors.Join(err, c.Stop())
			}
			if err := c.Apply(ctx, Admin, opts.Manifests...); err != nil {
				return nil, errors.Join(err, c.Stop())
			}
			return c, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			return nil, err
		}
	}
}

// errPortTaken marks a start that lost a race for a port; Start tries again with new ports.
var errPortTaken = errors.New("a port was taken meanwhile")

// startOnce makes one attempt at starting both programs.
func startOnce(ctx context.Context, etcdBin, apiBin string) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "tidal-kubetest-")
	if err != nil {
		return nil, fmt.Errorf("creating the cluster folder: %w", err)
	}
	c := &Cluster{dir: dir, etcdDir: filepath.Join(dir, "etcd")}
	if info, err := os.Stat("/dev/shm"); err == nil && info.IsDir() {
		if c.etcdDir, err = os.MkdirTemp("/dev/shm", "tidal-etcd-"); err != nil {
			return nil, errors.Join(fmt.Errorf("creating the etcd folder: %w", err), c.Stop())
		}
	}
	if c.tokens, err = newTokens(); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	if err := c.startEtcd(ctx, etcdBin, ports[0], ports[1]); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	if err := c.startAPIServer(ctx, apiBin, ports[0], ports[2]); err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	return c, nil
}

// startEtcd starts a one-member etcd and waits for /health.
func (c *Cluster) startEtcd(ctx context.Context, bin string, clientPort, peerPort int) error {
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	p, err := startProcess("etcd", bin, filepath.Join(c.dir, "etcd.log"),
		"--name=kubetest", "--data-dir="+c.etcdDir,
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=kubetest="+peer, "--log-level=warn", "--logger=zap")
	if err != nil {
		return err
	}
	c.etcd = p
	err = p.waitUntil(ctx, "health", func(ctx context.Context) bool {
		return httpOK(ctx, http.DefaultClient, client+"/health", "")
	})
	if err != nil && p.exited() && p.portInUse() {
		return fmt.Errorf("%w: %w", errPortTaken, err)
	}
	return err
}

// startAPIServer starts kube-apiserver against etcd and waits for /readyz.
func (c *Cluster) startAPIServer(ctx context.Context, bin string, etcdPort, port int) error {
	keyPath := filepath.Join(c.dir, "sa.key")
	tokenPath := filepath.Join(c.dir, "tokens.csv")
	certDir := filepath.Join(c.dir, "certs")
	if err := writeServiceAccountKey(keyPath); err != nil {
		return err
	}
	if err := writeTokenFile(tokenPath, c.tokens); err != nil {
		return err
	}
	p, err := startProcess("kube-apiserver", bin, filepath.Join(c.dir, "kube-apiserver.log"),
		"--etcd-servers=http://127.0.0.1:"+strconv.Itoa(etcdPort),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port), "--cert-dir="+certDir,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+keyPath, "--service-account-signing-key-file="+keyPath,
		"--authorization-mode=RBAC", "--token-auth-file="+tokenPath,
		"--service-cluster-ip-range=10.0.0.0/24", "--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false", "--v=0")
	if err != nil {
		return err
	}
	c.apiserver = p
	c.host = "https://127.0.0.1:" + strconv.Itoa(port)
	err = p.waitUntil(ctx, "/readyz", c.ready)
	if err != nil && p.exited() && p.portInUse() {
		return fmt.Errorf("%w: %w", errPortTaken, err)
	}
	return err
}

// ready reports whether the API server's certificate exists and /readyz answers ok.
func (c *Cluster) ready(ctx context.Context) bool {
	if c.caData == nil {
		b, err := os.ReadFile(filepath.Join(c.dir, "certs", "apiserver.crt"))
		if err != nil {
			return false
		}
		c.caData = b
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.caData) {
		c.caData = nil // written but not complete yet
		return false
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	return httpOK(ctx, client, c.host+"/readyz", c.tokens[Admin])
}

// httpOK reports whether GET url answers 200.
func httpOK(ctx context.Context, client *http.Client, url, token string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer drain(resp.Body)
	return resp.StatusCode == http.StatusOK
}

// Host returns the API server's URL.
func (c *Cluster) Host() string { return c.host }

// Config returns a client configuration that authenticates as u with its bearer token and trusts
// the API server's generated certificate. Each call returns a new value the caller may modify.
func (c *Cluster) Config(u User) *rest.Config {
	return &rest.Config{
		Host:            c.host,
		BearerToken:     c.tokens[u],
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), c.caData...)},
		QPS:             200,
		Burst:           400,
		Timeout:         30 * time.Second,
		UserAgent:       "tidal-kubetest/" + string(u),
	}
}

// Stop terminates kube-apiserver, then etcd (each gets a few seconds before it is killed), and
// removes the temporary folders.
func (c *Cluster) Stop() error {
	errs := []error{
		c.apiserver.stop(10 * time.Second),
		c.etcd.stop(5 * time.Second),
		os.RemoveAll(c.dir),
	}
	if filepath.Dir(c.etcdDir) != c.dir {
		errs = append(errs, os.RemoveAll(c.etcdDir))
	}
	return errors.Join(errs...)
}
