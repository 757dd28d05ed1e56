package promtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultBinary is where Debian's prometheus package installs the server.
const DefaultBinary = "/usr/bin/prometheus"

// SkipEnv is the environment variable that, set to 1, makes the T helpers skip instead of fail
// when Prometheus is not installed. CI never sets it.
const SkipEnv = "TIDAL_SKIP_PROMETHEUS"

// ErrNotInstalled is returned by Start when no prometheus binary is found.
var ErrNotInstalled = errors.New("prometheus is not installed (run `bash .ci/setup` or `apt-get install prometheus`)")

// Config describes the Prometheus to start. Zero fields take the defaults noted.
type Config struct {
	// Binary is the prometheus executable (default DefaultBinary, else "prometheus" on PATH).
	Binary string
	// Targets are host:port addresses to scrape at /metrics.
	Targets []string
	// Interval is the scrape and rule-evaluation interval (default 1s).
	Interval time.Duration
	// ReadyTimeout bounds the wait for /-/ready (default 30s).
	ReadyTimeout time.Duration
	// RemoteRead, when set, adds a remote_read endpoint (read_recent) at that URL. Pointing it
	// at a dead address makes every query answer with warnings, as a failing remote store does.
	RemoteRead string
}

// Server is a running (or stopped) Prometheus with a fixed address and storage directory, so a
// Stop followed by Restart keeps both its URL and its data.
type Server struct {
	cfg     Config
	addr    string
	dir     string
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	log     bytes.Buffer
	ownsDir bool
}

// Start writes a configuration into a new temporary directory, starts Prometheus on a free
// loopback port and waits until it is ready. The caller must Close the server.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	bin, err := binary(cfg.Binary)
	if err != nil {
		return nil, err
	}
	cfg.Binary = bin
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	dir, err := os.MkdirTemp("", "tidal-prometheus-")
	if err != nil {
		return nil, fmt.Errorf("creating the Prometheus directory: %w", err)
	}
	s := &Server{cfg: cfg, dir: dir, ownsDir: true}
	if err := s.writeConfig(); err != nil {
		s.Close()
		return nil, err
	}
	if s.addr, err = freeAddr(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Restart(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// binary resolves the prometheus executable.
func binary(want string) (string, error) {
	if want != "" {
		if _, err := os.Stat(want); err != nil {
			return "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
		}
		return want, nil
	}
	if _, err := os.Stat(DefaultBinary); err == nil {
		return DefaultBinary, nil
	}
	p, err := exec.LookPath("prometheus")
	if err != nil {
		return "", ErrNotInstalled
	}
	return p, nil
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// writeConfig writes prometheus.yml for the configured targets.
func (s *Server) writeConfig() error {
	quoted := make([]string, len(s.cfg.Targets))
	for i, t := range s.cfg.Targets {
		quoted[i] = fmt.Sprintf("%q", t)
	}
	iv := s.cfg.Interval.String()
	conf := fmt.Sprintf(`global:
  scrape_interval: %s
  scrape_timeout: %s
  evaluation_interval: %s
scrape_configs:
  - job_name: dynamo
    static_configs:
      - targets: [%s]
`, iv, iv, iv, strings.Join(quoted, ", "))
	if s.cfg.RemoteRead != "" {
		conf += fmt.Sprintf("remote_read:\n  - url: %q\n    read_recent: true\n    remote_timeout: 1s\n", s.cfg.RemoteRead)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "prometheus.yml"), []byte(conf), 0o600); err != nil {
		return fmt.Errorf("writing the Prometheus configuration: %w", err)
	}
	return nil
}

// URL is the base URL of the HTTP API (valid across Stop and Restart).
func (s *Server) URL() string { return "http://" + s.addr }

// Addr is the host:port Prometheus listens on.
func (s *Server) Addr() string { return s.addr }

// Log returns what Prometheus has written to stderr and stdout so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// Restart starts Prometheus (again) on the same address and storage and waits until it is
// ready. It is an error to Restart a running server.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return errors.New("prometheus is already running")
	}
	cmd := exec.Command(s.cfg.Binary,
		"--config.file="+filepath.Join(s.dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(s.dir, "data"),
		"--web.listen-address="+s.addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = lockedWriter{s}, lockedWriter{s}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("starting %s: %w", s.cfg.Binary, err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	go func() { _ = cmd.Wait(); close(done) }()
	return s.waitReady(ctx, done)
}

// WipeData removes the stored samples of a stopped server, so the next Restart begins with an
// empty TSDB, as a Prometheus pod without a persistent volume does after it is rescheduled. It
// is an error while the server runs.
func (s *Server) WipeData() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("prometheus is running: Stop it before WipeData")
	}
	if err := os.RemoveAll(filepath.Join(s.dir, "data")); err != nil {
		return fmt.Errorf("wiping the Prometheus data: %w", err)
	}
	return nil
}

// lockedWriter appends a child process's output to the server's log under its lock.
type lockedWriter struct{ s *Server }

// Write implements io.Writer.
func (w lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.log.Write(p)
}

// waitReady polls /-/ready until it answers 200, the process exits, or the timeout passes.
func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(s.URL() + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("prometheus exited before becoming ready:\n%s", s.Log())
		case <-ctx.Done():
			_ = s.Stop()
			return fmt.Errorf("prometheus not ready at %s within %s: %w\n%s", s.URL(), s.cfg.ReadyTimeout, ctx.Err(), s.Log())
		case <-tick.C:
		}
	}
}

// Stop terminates Prometheus (SIGTERM, then SIGKILL after 10s) and waits for it to exit. The
// address and storage stay reserved for Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	return nil
}

// Close stops Prometheus and removes its directory.
func (s *Server) Close() error {
	err := s.Stop()
	if s.ownsDir {
		err = errors.Join(err, os.RemoveAll(s.dir))
	}
	return err
}

// StartT is Start for tests: it fails t (or skips it, when SkipEnv=1 and Prometheus is not
// installed) and registers Close as a cleanup.
func StartT(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := Start(context.Background(), cfg)
	if errors.Is(err, ErrNotInstalled) && os.Getenv(SkipEnv) == "1" {
		t.Skipf("skipping: %v (%s=1)", err, SkipEnv)
	}
	if err != nil {
		t.Fatalf("starting Prometheus: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing Prometheus: %v", err)
		}
	})
	return s
}

// CPUTime returns the user+system CPU time the running Prometheus process has used, read from
// /proc (Linux only), so benchmarks can report the server's share of a workload.
func (s *Server) CPUTime() (time.Duration, error) {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return 0, errors.New("prometheus is not running")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("reading Prometheus's CPU time: %w", err)
	}
	// Fields after the parenthesised command name; utime and stime are the 12th and 13th.
	fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc stat format: %q", data)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc CPU times (100 on every Linux architecture Go
// supports).
const clockTicks = 100
