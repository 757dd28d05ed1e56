package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/tidal-planner/tidal/policies"
)

const runUsage = `Usage:
  tidal run --policies FILE|DIR [flags]

Run the planner: for every policy, every planning interval, read the deployment's load and
latency from Prometheus, read its replicas from the DynamoGraphDeployment, decide, and write the
desired replicas to the scale subresource of its DynamoGraphDeploymentScalingAdapters (services
with actuation: scale). Policies in mode: dry-run (or all, with --dry-run) are computed and
published on /metrics and /debug/decisions, and a change is checked with a server-side dry-run
update (RBAC, validation) and recorded as a DryRunScale Event, but never persisted.

The policy file or directory is watched: a changed set that loads cleanly replaces the running
one; a bad one is rejected with its problems logged and the last good set keeps running.
SIGTERM or SIGINT lets every tick in progress finish, releases the leader lease and exits 0.

Memory: unless GOMEMLIMIT is set, the Go runtime's soft memory limit is set to 90% of the
container's cgroup memory limit (none without one), so the garbage collector works harder near
the limit rather than the container being OOM-killed. GOMEMLIMIT overrides it. Unless GOGC is
set, the garbage collector's target is 75 (Go's default is 100): a smaller resident set for a
little CPU on a loop that is idle almost all the time. GOGC overrides it.

Flags:
`

const runExamples = `
Endpoints on --listen: /healthz, /readyz (ready once every policy has ticked, and
while the last tick of some policy succeeded), /metrics (tidal_*
series), /debug/decisions[?policy=NAME&limit=N] (the last decisions with their reasons, JSON).
With --keda-listen, the KEDA external scaler (gRPC externalscaler.ExternalScaler) serves the
desired replicas of services with actuation: keda from memory (docs/keda.md).

Examples:
  # out of cluster, against the current kubeconfig context, writing nothing
  tidal run --policies policies/examples --kubeconfig ~/.kube/config --dry-run

  # in cluster (the Deployment in deploy/), two replicas with leader election
  tidal run --policies /etc/tidal/policies --leader-elect --lease-namespace tidal-system

  # out of cluster with Prometheus through a port-forward (the policies name in-cluster URLs)
  tidal run --policies policies/examples --dry-run --prometheus-url http://localhost:9090

  # debug logging of every tick, ops endpoints on another port
  tidal run --policies policy.yaml --log-level debug --listen :9091

  # also serve services with actuation: keda to KEDA (ScaledObject trigger type external),
  # over mutual TLS (certificates re-read when cert-manager rotates them)
  tidal run --policies /etc/tidal/policies --keda-listen :9443 \
    --keda-tls-cert /etc/tidal/keda-tls/tls.crt --keda-tls-key /etc/tidal/keda-tls/tls.key \
    --keda-client-ca /etc/tidal/keda-tls/ca.crt
`

// runFlags are tidal run's settings.
type runFlags struct {
	policies       string
	kubeconfig     string
	listen         string
	leaderElect    bool
	leaseName      string
	leaseNamespace string
	identity       string
	leaseDuration  time.Duration
	renewDeadline  time.Duration
	retryPeriod    time.Duration
	logLevel       string
	logFormat      string
	dryRun         bool
	reloadEvery    time.Duration
	backfill       bool
	kedaListen     string
	kedaTLSCert    string
	kedaTLSKey     string
	kedaClientCA   string
	kedaInsecure   bool
	prometheusURL  string
}

// parseRunFlags parses tidal run's flags; help is true when --help was asked for.
func parseRunFlags(args []string, stdout, stderr io.Writer) (f runFlags, code int, done bool) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&f.policies, "policies", "", "policy `file or directory` (*.yaml, *.yml); required")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig `file` for running outside the cluster (default: in-cluster config, else $KUBECONFIG)")
	fs.StringVar(&f.listen, "listen", ":8080", "`address` of the ops endpoints (/healthz, /readyz, /metrics, /debug/decisions)")
	fs.BoolVar(&f.leaderElect, "leader-elect", false, "elect a leader on a Lease so several replicas can run; only the leader writes")
	fs.StringVar(&f.leaseName, "lease-name", "tidal", "`name` of the leader-election Lease")
	fs.StringVar(&f.leaseNamespace, "lease-namespace", "", "`namespace` of the Lease (default: $POD_NAMESPACE, the in-cluster namespace, else default)")
	fs.StringVar(&f.identity, "identity", "", "leader-election `identity` (default: $POD_NAME, else the hostname)")
	fs.DurationVar(&f.leaseDuration, "lease-duration", 15*time.Second, "how long followers wait before taking over a lease the leader stopped renewing")
	fs.DurationVar(&f.renewDeadline, "renew-deadline", 10*time.Second, "how long the leader keeps retrying to renew before it stops writing")
	fs.DurationVar(&f.retryPeriod, "retry-period", 2*time.Second, "how often leader-election clients retry")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug (every tick), info (decision changes), warn, error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log `format`: text or json")
	fs.BoolVar(&f.dryRun, "dry-run", false, "compute, publish and check every decision but persist nothing, whatever the policies' modes say")
	fs.DurationVar(&f.reloadEvery, "reload-interval", 10*time.Second, "how often to check the policy files for changes (0 disables hot reload)")
	fs.BoolVar(&f.backfill, "backfill", true, "warm the forecasts from Prometheus history at start-up")
	fs.StringVar(&f.kedaListen, "keda-listen", "", "`address` of the KEDA external scaler (gRPC) for services with actuation: keda, e.g. :9443 (default: off)")
	fs.StringVar(&f.kedaTLSCert, "keda-tls-cert", "", "TLS certificate `file` (PEM) of the KEDA external scaler, re-read when it changes (default: plaintext)")
	fs.StringVar(&f.kedaTLSKey, "keda-tls-key", "", "TLS private key `file` (PEM) for --keda-tls-cert, re-read when it changes")
	fs.StringVar(&f.kedaClientCA, "keda-client-ca", "", "CA `file` (PEM): require KEDA to present a client certificate it signed (mutual TLS; needs --keda-tls-cert)")
	fs.BoolVar(&f.kedaInsecure, "keda-insecure", false, "allow a plaintext KEDA external scaler on a non-loopback --keda-listen address")
	fs.StringVar(&f.prometheusURL, "prometheus-url", "", "Prometheus `URL` replacing every policy's spec.metrics.prometheus.url, on reloads too (e.g. a port-forward for a run outside the cluster)")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs, runUsage, runExamples)
			return f, 0, true
		}
		fmt.Fprintf(stderr, "tidal run: %v\n\n", err)
		printUsage(stderr, fs, runUsage, runExamples)
		return f, 2, true
	}
	if problem := f.check(fs.NArg()); problem != "" {
		fmt.Fprintf(stderr, "tidal run: %s\n\n", problem)
		printUsage(stderr, fs, runUsage, runExamples)
		return f, 2, true
	}
	return f, 0, false
}

// check returns a usage problem, or "".
func (f runFlags) check(extraArgs int) string {
	switch {
	case f.policies == "":
		return "--policies is required"
	case extraArgs > 0:
		return "unexpected arguments after the flags"
	case f.reloadEvery < 0:
		return "--reload-interval must not be negative"
	case f.logFormat != "text" && f.logFormat != "json":
		return fmt.Sprintf("--log-format %q: want text or json", f.logFormat)
	case (f.kedaTLSCert == "") != (f.kedaTLSKey == ""):
		return "--keda-tls-cert and --keda-tls-key go together"
	case f.kedaTLSCert != "" && f.kedaListen == "":
		return "--keda-tls-cert needs --keda-listen"
	case f.kedaClientCA != "" && f.kedaTLSCert == "":
		return "--keda-client-ca needs --keda-tls-cert and --keda-tls-key"
	case f.kedaListen != "" && f.kedaTLSCert == "" && !f.kedaInsecure && !loopback(f.kedaListen):
		return fmt.Sprintf("--keda-listen %s would serve the KEDA external scaler in plaintext beyond this host: give --keda-tls-cert and --keda-tls-key, or --keda-insecure to accept plaintext (e.g. inside a NetworkPolicy)", f.kedaListen)
	}
	if _, err := parseLevel(f.logLevel); err != nil {
		return err.Error()
	}
	if err := checkPrometheusURL(f.prometheusURL); err != nil {
		return err.Error()
	}
	return ""
}

// runRun implements "tidal run".
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, code, done := parseRunFlags(args, stdout, stderr)
	if done {
		return code
	}
	logger := newLogger(stderr, f)
	klog.SetSlogLogger(logger)
	tuneRuntime(logger)
	ps, err := policies.Load(f.policies)
	if err != nil {
		logProblems(logger, "the policies do not load", err)
		return 1
	}
	ps = overridePrometheus(ps, f.prometheusURL)
	ln, err := net.Listen("tcp", f.listen)
	if err != nil { // fail at once, before the backfill and the first ticks
		logger.Error("cannot serve the ops endpoints: check --listen (a free port, e.g. :8080)", "listen", f.listen, "err", err)
		return 1
	}
	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		ln.Close()
		logger.Error("no Kubernetes client configuration", "err", err)
		return 1
	}
	err = serve(ctx, f, ps, deps{clock: clock.RealClock{}, rest: cfg, logger: logger, listener: ln})
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("tidal run stopped", "err", err)
		return 1
	}
	logger.Info("tidal run stopped")
	return 0
}

// tuneRuntime sets the garbage collector's target to defaultGCPercent unless GOGC is set
// (gcPercent), gives the Go runtime a soft memory limit of 90% of the container's memory limit
// unless GOMEMLIMIT is set (memoryLimit), and logs what applies. The limit makes the garbage
// collector work harder near the container's limit instead of letting the heap grow past it and
// the container be OOM-killed; far below it, it changes nothing.
func tuneRuntime(logger *slog.Logger) {
	if pct, note := gcPercent(os.Getenv); pct > 0 {
		debug.SetGCPercent(pct)
		logger.Info("set the Go garbage collector's target", "GOGC", pct, "from", note)
	} else {
		logger.Info("tidal leaves the Go garbage collector's target", "from", note)
	}
	limit, note := memoryLimit(os.Getenv, os.ReadFile)
	if limit > 0 {
		debug.SetMemoryLimit(limit)
		logger.Info("set the Go runtime's soft memory limit", "bytes", limit, "from", note)
		return
	}
	logger.Info("tidal sets no soft memory limit", "limit", note)
}

// newLogger builds the slog logger the flags ask for.
func newLogger(w io.Writer, f runFlags) *slog.Logger {
	level, _ := parseLevel(f.logLevel)
	opts := &slog.HandlerOptions{Level: level}
	if f.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// logProblems logs every problem of a policy load error, one line each.
func logProblems(logger *slog.Logger, msg string, err error) {
	probs := policies.Problems(err)
	if len(probs) == 0 {
		logger.Error(msg, "err", err)
		return
	}
	for _, p := range probs {
		logger.Error(msg, "problem", p.Error())
	}
}

// restConfig returns the client configuration: the kubeconfig file when given, else the
// in-cluster configuration, else $KUBECONFIG / ~/.kube/config.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("reading kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if err == nil {
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	kc, kerr := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if kerr != nil {
		return nil, fmt.Errorf("not in a cluster (%v) and no kubeconfig: %w", err, kerr)
	}
	return kc, nil
}

// leaseNamespace resolves the Lease namespace: the flag, $POD_NAMESPACE, the in-cluster
// service-account namespace, else "default".
func leaseNamespace(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return "default"
}

// identity resolves the leader-election identity: the flag, $POD_NAME, else the hostname.
func identity(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if n := os.Getenv("POD_NAME"); n != "" {
		return n
	}
	h, err := os.Hostname()
	if err != nil {
		return fmt.Sprintf("tidal-%d", os.Getpid())
	}
	return h
}
