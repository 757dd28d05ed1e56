package keda

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	v2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tidal-planner/tidal/scaler/keda"
)

// specView is the part of an HPA metric spec KEDA builds that matters here.
type specView struct {
	Name, Type, AverageValue, Value string
}

func viewSpecs(specs []v2.MetricSpec) []specView {
	var out []specView
	for _, s := range specs {
		v := specView{Name: s.External.Metric.Name, Type: string(s.External.Target.Type)}
		if q := s.External.Target.AverageValue; q != nil {
			v.AverageValue = q.String()
		}
		if q := s.External.Target.Value; q != nil {
			v.Value = q.String()
		}
		out = append(out, v)
	}
	return out
}

// TestSpecValuesActivity: KEDA's client reads tidal's metric spec (name with KEDA's index
// prefix, AverageValue or Value target 1), the value (the desired replicas) and the activity.
func TestSpecValuesActivity(t *testing.T) {
	td := startTidal(t)
	td.decisions.decide("llama/decode", 3)
	td.decisions.decide("llama/prefill", 0)
	td.decisions.decide("llama/VllmWorker", 5)
	tests := []struct {
		name       string
		tr         trigger
		wantSpecs  []specView
		wantValue  string
		wantActive bool
	}{
		{"default AverageValue, trigger 0", trigger{Metadata: target(td.addr, "llama", "decode")},
			[]specView{{Name: "s0-tidal-llama-decode", Type: "AverageValue", AverageValue: "1"}}, "3", true},
		{"metricType Value, trigger 2", trigger{Metadata: target(td.addr, "llama", "decode"), Index: 2, MetricType: v2.ValueMetricType},
			[]specView{{Name: "s2-tidal-llama-decode", Type: "Value", Value: "1"}}, "3", true},
		{"decision 0 is inactive", trigger{Metadata: target(td.addr, "llama", "prefill")},
			[]specView{{Name: "s0-tidal-llama-prefill", Type: "AverageValue", AverageValue: "1"}}, "0", false},
		{"a CamelCase service is lower-cased", trigger{Metadata: target(td.addr, "llama", "VllmWorker")},
			[]specView{{Name: "s0-tidal-llama-vllmworker", Type: "AverageValue", AverageValue: "1"}}, "5", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.tr.newScaler(t)
			specs := s.GetMetricSpecForScaling(t.Context())
			if diff := cmp.Diff(tt.wantSpecs, viewSpecs(specs)); diff != "" {
				t.Fatalf("metric spec (-want +got):\n%s", diff)
			}
			values, active, err := s.GetMetricsAndActivity(t.Context(), specs[0].External.Metric.Name)
			if err != nil {
				t.Fatal(err)
			}
			if len(values) != 1 {
				t.Fatalf("%d values, want exactly 1 (the HPA sums them)", len(values))
			}
			if got := values[0].Value.String(); got != tt.wantValue || active != tt.wantActive {
				t.Errorf("value %s active %v, want %s %v", got, active, tt.wantValue, tt.wantActive)
			}
			if values[0].MetricName != specs[0].External.Metric.Name {
				t.Errorf("value named %q, spec %q", values[0].MetricName, specs[0].External.Metric.Name)
			}
		})
	}
	t.Run("a metric name with another trigger's prefix is refused by KEDA itself", func(t *testing.T) {
		s := trigger{Metadata: target(td.addr, "llama", "decode")}.newScaler(t)
		_, _, err := s.GetMetricsAndActivity(t.Context(), "s1-tidal-llama-decode")
		if err == nil || !strings.Contains(err.Error(), "incorrect index prefix") {
			t.Errorf("error %v, want KEDA's incorrect index prefix", err)
		}
	})
}

// errorStates are the ways tidal refuses a target, set up on a running tidal.
var errorStates = []struct {
	name  string
	setup func(td *tidal) (policy, service string)
	code  codes.Code // what KEDA's GetMetricsAndActivity returns
	spec  bool       // whether GetMetricSpec still answers (only Unavailable)
}{
	{"no decision yet: Unavailable", func(td *tidal) (string, string) {
		td.decisions.fail("llama/decode", fmt.Errorf("policy llama has not ticked: %w", keda.ErrNoDecision))
		return "llama", "decode"
	}, codes.Unavailable, true},
	{"stale decision: Unavailable", func(td *tidal) (string, string) {
		td.decisions.decide("llama/decode", 3)
		td.decisions.mu.Lock()
		d := td.decisions.d["llama/decode"]
		d.Time = d.Time.Add(-4 * d.Interval)
		td.decisions.d["llama/decode"] = d
		td.decisions.mu.Unlock()
		return "llama", "decode"
	}, codes.Unavailable, true},
	{"unknown policy: NotFound", func(*tidal) (string, string) { return "mistral", "decode" }, codes.NotFound, false},
	{"service not on actuation keda: FailedPrecondition", func(td *tidal) (string, string) {
		td.decisions.fail("llama/Frontend", fmt.Errorf("actuation scale: %w", keda.ErrNotKEDA))
		return "llama", "Frontend"
	}, codes.FailedPrecondition, false},
	{"service missing from the trigger metadata: InvalidArgument", func(*tidal) (string, string) { return "llama", "" }, codes.InvalidArgument, false},
	{"tidal unreachable: Unavailable", func(td *tidal) (string, string) {
		td.stop()
		return "llama", "decode"
	}, codes.Unavailable, false},
}

// TestErrorCodes: what KEDA's client sees for each refusal. Only Unavailable from a running tidal
// still yields a metric spec; every other refusal, and an unreachable tidal, fails GetMetricSpec
// first (KEDA then reports "got empty metric spec").
func TestErrorCodes(t *testing.T) {
	for _, tt := range errorStates {
		t.Run(tt.name, func(t *testing.T) {
			td := startTidal(t)
			policy, service := tt.setup(td)
			md := target(td.addr, policy, service)
			if service == "" {
				delete(md, "service")
			}
			s := trigger{Metadata: md}.newScaler(t)
			specs := s.GetMetricSpecForScaling(t.Context())
			if got := len(specs) == 1; got != tt.spec {
				t.Errorf("GetMetricSpec answered: %v, want %v", got, tt.spec)
			}
			_, _, err := s.GetMetricsAndActivity(t.Context(), "s0-"+keda.MetricName(policy, service))
			if got := status.Code(err); got != tt.code {
				t.Errorf("GetMetricsAndActivity: %v (%v), want %v", got, err, tt.code)
			}
		})
	}
}

// outcome is the part of a poll a scenario checks, with the replicas after it and the RPCs
// tidal answered during it.
type outcome struct {
	Replicas       int32
	Active, Error  bool
	FallbackActive bool
	FallbackValue  string // the metric value fallback hands the HPA, when active
	Ready          metav1.ConditionStatus
	Failures       int32 // status.health numberOfFailures, -1 when KEDA does not track it
	Calls          map[string]int
	ErrorLogs      int // Error-level lines KEDA's code logged
}

func summarise(c *cluster, r pollResult, calls map[string]int, t testing.TB) outcome {
	o := outcome{Replicas: c.replicas(t), Active: r.Active, Error: r.Error, FallbackActive: r.FallbackActive,
		Ready: r.Ready, Failures: r.Failures, Calls: calls, ErrorLogs: errorLogs.take()}
	if r.FallbackActive && len(r.Metrics) == 1 {
		o.FallbackValue = r.Metrics[0].Value.String()
	}
	if len(o.Calls) == 0 {
		o.Calls = nil
	}
	return o
}

// TestScaleLoop drives KEDA's scale loop (scalers cache, fallback, scale executor) over tidal's
// answers and checks what KEDA does to the Deployment, poll after poll.
func TestScaleLoop(t *testing.T) {
	ok := map[string]int{"GetMetricSpec": 1, "GetMetrics": 1, "IsActive": 1}
	unavailable := map[string]int{"GetMetricSpec": 1, "GetMetrics": 2} // KEDA rebuilds the scaler and retries once
	specFails := map[string]int{"GetMetricSpec": 2}                    // the same retry, on the spec
	fb := func(threshold, replicas int32) *kedav1alpha1.Fallback {
		return &kedav1alpha1.Fallback{FailureThreshold: threshold, Replicas: replicas}
	}
	unavailableState := func(td *tidal) (string, string) {
		td.decisions.fail("llama/decode", fmt.Errorf("stuck: %w", keda.ErrNoDecision))
		return "llama", "decode"
	}
	decide := func(n int32) func(td *tidal) (string, string) {
		return func(td *tidal) (string, string) {
			td.decisions.decide("llama/decode", n)
			return "llama", "decode"
		}
	}
	type scenario struct {
		name     string
		min      int32
		fallback *kedav1alpha1.Fallback
		start    int32
		setup    func(td *tidal) (string, string)
		want     []outcome // one per poll
	}
	scenarios := []scenario{
		{"decision 0, scale to zero allowed: KEDA scales to zero", 0, nil, 2, decide(0),
			[]outcome{{Replicas: 0, Ready: "True", Failures: -1, Calls: ok}}},
		{"decision > 0 from zero: KEDA activates to 1, the HPA sizes from there", 0, nil, 0, decide(3),
			[]outcome{{Replicas: 1, Active: true, Ready: "True", Failures: -1, Calls: ok}}},
		{"decision > 0 from zero, minReplicaCount 2: activated to 2", 2, nil, 0, decide(3),
			[]outcome{{Replicas: 2, Active: true, Ready: "True", Failures: -1, Calls: ok}}},
		{"Unavailable without fallback: held, Ready False", 0, nil, 2, unavailableState, []outcome{
			{Replicas: 2, Error: true, Ready: "False", Failures: -1, Calls: unavailable, ErrorLogs: 2},
			{Replicas: 2, Error: true, Ready: "False", Failures: -1, Calls: unavailable, ErrorLogs: 2},
		}},
		{"Unavailable with fallback (threshold 2, replicas 5): fallback from the 3rd failure, Ready True throughout", 0, fb(2, 5), 2, unavailableState, []outcome{
			{Replicas: 2, Error: true, Ready: "True", Failures: 1, Calls: unavailable, ErrorLogs: 2},
			{Replicas: 2, Error: true, Ready: "True", Failures: 2, Calls: unavailable, ErrorLogs: 2},
			{Replicas: 2, Active: true, FallbackActive: true, FallbackValue: "5", Ready: "True", Failures: 3, Calls: unavailable, ErrorLogs: 2},
		}},
		{"Unavailable with fallback.replicas 0, scale to zero allowed: zero at the first failure", 0, fb(2, 0), 2, unavailableState, []outcome{
			{Replicas: 0, Error: true, Ready: "True", Failures: 1, Calls: unavailable, ErrorLogs: 2},
		}},
	}
	for _, es := range errorStates {
		if es.spec {
			continue
		}
		calls := specFails
		if strings.HasPrefix(es.name, "tidal unreachable") {
			calls = nil
		}
		held := outcome{Replicas: 2, Error: true, Ready: "True", Failures: -1, Calls: calls, ErrorLogs: 2}
		scenarios = append(scenarios, scenario{es.name + " with fallback (threshold 1): fallback never starts, Ready stays True", 0, fb(1, 5), 2, es.setup,
			[]outcome{held, held, held}})
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			td := startTidal(t)
			policy, service := sc.setup(td)
			md := target(td.addr, policy, service)
			if service == "" {
				delete(md, "service")
			}
			tr := trigger{Metadata: md}
			c := newCluster(t, tr, scaledObject(tr, sc.min, sc.fallback), sc.start)
			td.calls.take()
			errorLogs.take()
			for i, want := range sc.want {
				got := summarise(c, c.poll(t), td.calls.take(), t)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("poll %d (-want +got):\n%s", i+1, diff)
				}
			}
		})
	}
}

// TestTLS: KEDA's TLS settings against tidal's TLS and mutual TLS.
func TestTLS(t *testing.T) {
	p := newPKI(t)
	tlsOnly := p.files
	tlsOnly.ClientCA = ""
	tests := []struct {
		name     string
		server   keda.TLSFiles
		metadata map[string]string
		auth     map[string]string
		want     codes.Code
	}{
		{"enableTLS + caCert", tlsOnly, map[string]string{"enableTLS": "true"}, map[string]string{"caCert": p.caPEM}, codes.OK},
		{"caCert alone turns TLS on", tlsOnly, nil, map[string]string{"caCert": p.caPEM}, codes.OK},
		{"enableTLS + unsafeSsl (no verification)", tlsOnly, map[string]string{"enableTLS": "true", "unsafeSsl": "true"}, nil, codes.OK},
		{"unsafeSsl alone stays plaintext", tlsOnly, map[string]string{"unsafeSsl": "true"}, nil, codes.Unavailable},
		{"enableTLS without the CA: a trust failure is Unavailable", tlsOnly, map[string]string{"enableTLS": "true"}, nil, codes.Unavailable},
		{"mTLS: client certificate + caCert", p.files, map[string]string{"enableTLS": "true"},
			map[string]string{"caCert": p.caPEM, "tlsClientCert": p.clientCert, "tlsClientKey": p.clientKey}, codes.OK},
		{"mTLS: no client certificate is refused (Unavailable)", p.files, map[string]string{"enableTLS": "true"}, map[string]string{"caCert": p.caPEM}, codes.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := keda.TLSConfig(tt.server, nil)
			if err != nil {
				t.Fatal(err)
			}
			td := startTidal(t, grpcCreds(cfg))
			td.decisions.decide("llama/decode", 2)
			md := target(td.addr, "llama", "decode")
			for k, v := range tt.metadata {
				md[k] = v
			}
			s := trigger{Metadata: md, Auth: tt.auth}.newScaler(t)
			values, _, err := s.GetMetricsAndActivity(t.Context(), "s0-tidal-llama-decode")
			if got := status.Code(err); got != tt.want {
				t.Fatalf("GetMetricsAndActivity: %v (%v), want %v", got, err, tt.want)
			}
			if err == nil && values[0].Value.String() != "2" {
				t.Errorf("value %s, want 2", values[0].Value.String())
			}
		})
	}
}

// TestExternalPush: KEDA's external-push scaler receives tidal's activity at once and on every
// change, and the metric spec over StreamMetricSpec.
func TestExternalPush(t *testing.T) {
	td := startTidal(t)
	td.decisions.decide("llama/decode", 0)
	tr := trigger{Metadata: target(td.addr, "llama", "decode")}
	cfg := tr.scalerConfig()
	cfg.TriggerType = "external-push"
	ps, err := newPushScaler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ps.Close(context.Background()) })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	active := make(chan bool)
	errorLogs.take()
	go ps.Run(ctx, active)
	steps := []struct {
		decide int32
		want   bool
	}{{-1, false}, {3, true}, {5, true}, {0, false}, {1, true}}
	got := []bool{}
	want := []bool{}
	for _, s := range steps {
		if s.decide >= 0 {
			td.decisions.decide("llama/decode", s.decide)
			td.changes.Notify()
		}
		if s.decide == 5 { // 3 -> 5 does not change activity: nothing is pushed
			continue
		}
		want = append(want, s.want)
		got = append(got, <-active)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pushed activity (-want +got):\n%s", diff)
	}
	if n := errorLogs.take(); n != 0 {
		t.Errorf("KEDA logged %d errors while pushing (Unimplemented streams used to loop at Error level)", n)
	}
	streamer, ok := ps.(metricSpecStreamer)
	if !ok {
		t.Fatal("KEDA's external push scaler does not stream metric specs")
	}
	specs := <-streamer.MetricSpecChan()
	if diff := cmp.Diff([]specView{{Name: "s0-tidal-llama-decode", Type: "AverageValue", AverageValue: "1"}}, viewSpecs(specs)); diff != "" {
		t.Errorf("streamed spec (-want +got):\n%s", diff)
	}
}
