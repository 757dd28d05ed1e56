package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tidal-planner/tidal/cmd/tidal/doctor"
	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/policies"
)

const doctorUsage = `Usage:
  tidal doctor --policies FILE|DIR [flags]

Check, before trusting tidal with them, everything its policies need, and print a checklist
with a fix for every failure: Prometheus answers; every signal tidal reads returns data (the
PromQL that returned nothing, its label selector and the label values Prometheus does hold);
the DynamoGraphDeployment exists and is Ready; every service tidal writes has
scalingAdapter.enabled and its DynamoGraphDeploymentScalingAdapter; tidal's ServiceAccount may do
what tidal needs (SubjectAccessReview); no HorizontalPodAutoscaler, KEDA ScaledObject or Dynamo
planner already writes a DGDSA tidal writes; the GPU budget against the GPUs in use.

The doctor only reads (access reviews persist nothing). It exits 0 when nothing failed
(warnings included), 1 when a check failed, 2 on a usage error.

Flags:
`

const doctorExamples = `
Examples:
  # from a laptop: the current kubeconfig, Prometheus through a port-forward
  kubectl -n monitoring port-forward svc/prometheus 9090 &
  tidal doctor --policies policies/examples --prometheus-url http://localhost:9090

  # machine-readable, e.g. in CI before a policy change is merged
  tidal doctor --policies /etc/tidal/policies --output json

  # in the cluster, as tidal itself (the Helm chart's test pod does this)
  tidal doctor --policies /etc/tidal/policies --service-account self

The troubleshooting guide (docs/troubleshooting.md) explains every check and its fixes.
`

// doctorFlags are tidal doctor's settings.
type doctorFlags struct {
	policies, kubeconfig, prometheusURL string
	serviceAccount                      string
	leaseNamespace, leaseName           string
	timeout                             time.Duration
	output                              string
}

// parseDoctorFlags parses tidal doctor's flags; done is true when the command should exit with code.
func parseDoctorFlags(args []string, stdout, stderr io.Writer) (f doctorFlags, code int, done bool) {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.StringVar(&f.policies, "policies", "", "policy `file or directory` (*.yaml, *.yml); required")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig `file` (default: in-cluster config, else $KUBECONFIG)")
	fs.StringVar(&f.prometheusURL, "prometheus-url", "", "Prometheus `URL` replacing every policy's spec.metrics.prometheus.url (e.g. a port-forward)")
	fs.StringVar(&f.serviceAccount, "service-account", "tidal-system/tidal", "`namespace/name` of the ServiceAccount tidal runs as, whose rights are checked; self checks the doctor's own identity")
	fs.StringVar(&f.leaseNamespace, "lease-namespace", "tidal-system", "`namespace` of tidal's leader-election Lease")
	fs.StringVar(&f.leaseName, "lease-name", "tidal", "`name` of tidal's leader-election Lease (\"\" skips its check: no --leader-elect)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "bound on each Prometheus query and API call")
	fs.StringVar(&f.output, "output", "text", "output `format`: text or json")
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, fs, doctorUsage, doctorExamples)
		return f, 0, true
	}
	if err == nil {
		err = f.check(fs.NArg())
	}
	if err != nil {
		fmt.Fprintf(stderr, "tidal doctor: %v\n\n", err)
		printUsage(stderr, fs, doctorUsage, doctorExamples)
		return f, 2, true
	}
	return f, 0, false
}

// check returns a usage problem, or nil.
func (f doctorFlags) check(extraArgs int) error {
	switch {
	case f.policies == "":
		return errors.New("--policies is required")
	case extraArgs > 0:
		return errors.New("unexpected arguments after the flags")
	case f.output != "text" && f.output != "json":
		return fmt.Errorf("--output %q: want text or json", f.output)
	case f.timeout <= 0:
		return fmt.Errorf("--timeout %s: want a positive duration", f.timeout)
	case f.serviceAccount != "self" && strings.Count(f.serviceAccount, "/") != 1:
		return fmt.Errorf("--service-account %q: want namespace/name or self", f.serviceAccount)
	}
	return checkPrometheusURL(f.prometheusURL)
}

// runDoctor implements "tidal doctor".
func runDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, code, done := parseDoctorFlags(args, stdout, stderr)
	if done {
		return code
	}
	report := doctorReport(ctx, f, restConfig)
	var err error
	if f.output == "json" {
		err = report.WriteJSON(stdout)
	} else {
		err = report.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tidal doctor: writing the report: %v\n", err)
		return 1
	}
	if report.Failed() {
		return 1
	}
	return 0
}

// doctorReport loads the policies and runs the checks; a failure to load or to reach the API
// server is a failed check in the report, so --output json always prints one document.
func doctorReport(ctx context.Context, f doctorFlags, config func(string) (*rest.Config, error)) doctor.Report {
	ps, err := policies.Load(f.policies)
	if err != nil {
		var r doctor.Report
		for _, p := range problemsOf(err) {
			r.Results = append(r.Results, doctor.Result{Check: doctor.CheckPolicies, Status: doctor.Fail, Detail: p,
				Fix: "fix the policy files (tidal validate " + f.policies + " lists every problem)"})
		}
		return r
	}
	ps = overridePrometheus(ps, f.prometheusURL)
	cfg, err := doctorConfig(f, config)
	if err != nil {
		return doctor.Report{Results: []doctor.Result{{Check: doctor.CheckKube, Status: doctor.Fail, Detail: err.Error(),
			Fix: "pass --kubeconfig, set $KUBECONFIG, or run the doctor in the cluster"}}}
	}
	return doctor.Run(ctx, cfg, ps)
}

// doctorConfig builds the doctor's clients.
func doctorConfig(f doctorFlags, config func(string) (*rest.Config, error)) (doctor.Config, error) {
	rc, err := config(f.kubeconfig)
	if err != nil {
		return doctor.Config{}, err
	}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return doctor.Config{}, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return doctor.Config{}, fmt.Errorf("creating the Kubernetes dynamic client: %w", err)
	}
	sa := f.serviceAccount
	if sa == "self" {
		sa = ""
	}
	return doctor.Config{Kube: kube, Dynamic: dyn, Prometheus: metrics.New(metrics.Options{}), Timeout: f.timeout,
		ServiceAccount: sa, LeaseNamespace: f.leaseNamespace, LeaseName: f.leaseName}, nil
}

// problemsOf lists a policy load error's problems, one string each.
func problemsOf(err error) []string {
	probs := policies.Problems(err)
	if len(probs) == 0 {
		return []string{err.Error()}
	}
	out := make([]string, len(probs))
	for i, p := range probs {
		out[i] = p.Error()
	}
	return out
}

// checkPrometheusURL rejects a --prometheus-url that is not an http(s) URL with a host ("" is fine).
func checkPrometheusURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--prometheus-url %q: want an http or https URL with a host, e.g. http://localhost:9090", s)
	}
	return nil
}

// overridePrometheus returns the policies with every Prometheus URL replaced by url ("" keeps
// them): for runs outside the cluster, where the policies' in-cluster Service names do not resolve.
func overridePrometheus(ps []policies.Policy, promURL string) []policies.Policy {
	if promURL == "" {
		return ps
	}
	out := make([]policies.Policy, len(ps))
	for i, p := range ps {
		p.Metrics.PrometheusURL = promURL
		out[i] = p
	}
	return out
}
