package keda_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tidal-planner/tidal/scaler/keda"
)

// fakeDecisions is a hand-written Decisions over a map keyed by "policy/service"; a key mapped
// to an error returns it.
type fakeDecisions struct {
	decisions map[string]keda.Decision
	errs      map[string]error
}

func (f fakeDecisions) Desired(policy, service string) (keda.Decision, error) {
	k := policy + "/" + service
	if err, ok := f.errs[k]; ok {
		return keda.Decision{}, err
	}
	if d, ok := f.decisions[k]; ok {
		return d, nil
	}
	return keda.Decision{}, fmt.Errorf("policy %q service %q: %w", policy, service, keda.ErrUnknown)
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func world() fakeDecisions {
	return fakeDecisions{
		decisions: map[string]keda.Decision{
			"llama/decode":    {Replicas: 4, Time: t0.Add(-10 * time.Second), Interval: 30 * time.Second},
			"llama/prefill":   {Replicas: 0, Time: t0.Add(-5 * time.Second), Interval: 30 * time.Second},
			"llama/router":    {Replicas: 2, Time: t0.Add(-91 * time.Second), Interval: 30 * time.Second},
			"edge/VllmWorker": {Replicas: 3, Time: t0.Add(-90 * time.Second), Interval: 30 * time.Second},
		},
		errs: map[string]error{
			"llama/starting": fmt.Errorf("policy llama service starting: %w", keda.ErrNoDecision),
			"llama/Gateway":  fmt.Errorf("policy llama service Gateway has actuation scale: %w", keda.ErrNotKEDA),
		},
	}
}

// dial serves a Server for d on an in-memory listener and returns a real gRPC client.
func dial(t testing.TB, d keda.Decisions) externalscaler.ExternalScalerClient {
	t.Helper()
	srv, err := keda.New(keda.Config{Decisions: d, Clock: clocktesting.NewFakePassiveClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	ln := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	srv.Register(g)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Serve(ln)
	}()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		g.Stop()
		<-done
	})
	return externalscaler.NewExternalScalerClient(conn)
}

func ref(policy, service string) *externalscaler.ScaledObjectRef {
	md := map[string]string{}
	if policy != "" {
		md["policy"] = policy
	}
	if service != "" {
		md["service"] = service
	}
	return &externalscaler.ScaledObjectRef{Name: "so", Namespace: "ns", ScalerMetadata: md}
}

// answer is what the three calls returned for one target: values, or status codes.
type answer struct {
	SpecName   string
	SpecTarget int64
	SpecCode   codes.Code
	Metrics    []int64
	MetricCode codes.Code
	Active     bool
	ActiveCode codes.Code
}

func ask(t *testing.T, c externalscaler.ExternalScalerClient, r *externalscaler.ScaledObjectRef) answer {
	t.Helper()
	ctx := context.Background()
	var a answer
	spec, err := c.GetMetricSpec(ctx, r)
	a.SpecCode = status.Code(err)
	if err == nil {
		if len(spec.MetricSpecs) != 1 {
			t.Fatalf("GetMetricSpec returned %d specs, want 1", len(spec.MetricSpecs))
		}
		a.SpecName, a.SpecTarget = spec.MetricSpecs[0].MetricName, spec.MetricSpecs[0].TargetSize
	}
	m, err := c.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: r, MetricName: a.SpecName})
	a.MetricCode = status.Code(err)
	for _, v := range m.GetMetricValues() {
		if v.MetricName != a.SpecName {
			t.Errorf("GetMetrics value named %q, spec named %q", v.MetricName, a.SpecName)
		}
		a.Metrics = append(a.Metrics, v.MetricValue)
	}
	act, err := c.IsActive(ctx, r)
	a.ActiveCode = status.Code(err)
	a.Active = act.GetResult()
	return a
}

func TestServer(t *testing.T) {
	c := dial(t, world())
	tests := []struct {
		name string
		ref  *externalscaler.ScaledObjectRef
		want answer
	}{
		{"known decision", ref("llama", "decode"),
			answer{SpecName: "tidal-llama-decode", SpecTarget: 1, Metrics: []int64{4}, Active: true}},
		{"zero is inactive", ref("llama", "prefill"),
			answer{SpecName: "tidal-llama-prefill", SpecTarget: 1, Metrics: []int64{0}, Active: false}},
		{"exactly three intervals old is fresh, name lower-cased", ref("edge", "VllmWorker"),
			answer{SpecName: "tidal-edge-vllmworker", SpecTarget: 1, Metrics: []int64{3}, Active: true}},
		{"stale decision", ref("llama", "router"),
			answer{SpecName: "tidal-llama-router", SpecTarget: 1, MetricCode: codes.Unavailable, ActiveCode: codes.Unavailable}},
		{"no decision yet", ref("llama", "starting"),
			answer{SpecName: "tidal-llama-starting", SpecTarget: 1, MetricCode: codes.Unavailable, ActiveCode: codes.Unavailable}},
		{"missing policy", ref("", "decode"),
			answer{SpecCode: codes.InvalidArgument, MetricCode: codes.InvalidArgument, ActiveCode: codes.InvalidArgument}},
		{"missing service", ref("llama", ""),
			answer{SpecCode: codes.InvalidArgument, MetricCode: codes.InvalidArgument, ActiveCode: codes.InvalidArgument}},
		{"no metadata", &externalscaler.ScaledObjectRef{Name: "so"},
			answer{SpecCode: codes.InvalidArgument, MetricCode: codes.InvalidArgument, ActiveCode: codes.InvalidArgument}},
		{"unknown policy", ref("mistral", "decode"),
			answer{SpecCode: codes.NotFound, MetricCode: codes.NotFound, ActiveCode: codes.NotFound}},
		{"unknown service", ref("llama", "encode"),
			answer{SpecCode: codes.NotFound, MetricCode: codes.NotFound, ActiveCode: codes.NotFound}},
		{"service scaled by tidal itself", ref("llama", "Gateway"),
			answer{SpecCode: codes.FailedPrecondition, MetricCode: codes.FailedPrecondition, ActiveCode: codes.FailedPrecondition}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ask(t, c, tt.ref)); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetMetricsMetricName(t *testing.T) {
	c := dial(t, world())
	tests := []struct {
		name   string
		metric string
		want   codes.Code
	}{
		{"as returned by GetMetricSpec", "tidal-edge-vllmworker", codes.OK},
		{"empty", "", codes.OK},
		{"case differs", "tidal-edge-VllmWorker", codes.OK},
		{"another target's metric", "tidal-llama-decode", codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.GetMetrics(context.Background(), &externalscaler.GetMetricsRequest{
				ScaledObjectRef: ref("edge", "VllmWorker"), MetricName: tt.metric})
			if got := status.Code(err); got != tt.want {
				t.Errorf("code %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

func TestConcurrentCalls(t *testing.T) {
	c := dial(t, world())
	const callers, calls = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			svc := []string{"decode", "prefill"}[i%2]
			want := map[string]int64{"decode": 4, "prefill": 0}[svc]
			for range calls {
				m, err := c.GetMetrics(context.Background(), &externalscaler.GetMetricsRequest{ScaledObjectRef: ref("llama", svc)})
				if err != nil {
					errs <- err
					return
				}
				if got := m.MetricValues[0].MetricValue; got != want {
					errs <- fmt.Errorf("%s: got %d, want %d", svc, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewRequiresDecisions(t *testing.T) {
	if _, err := keda.New(keda.Config{}); err == nil {
		t.Error("New without Decisions: no error")
	}
}

func BenchmarkGetMetrics(b *testing.B) {
	c := dial(b, world())
	req := &externalscaler.GetMetricsRequest{ScaledObjectRef: ref("llama", "decode"), MetricName: "tidal-llama-decode"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetMetrics(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetMetricsDirect(b *testing.B) {
	srv, err := keda.New(keda.Config{Decisions: world(), Clock: clocktesting.NewFakePassiveClock(t0)})
	if err != nil {
		b.Fatal(err)
	}
	req := &externalscaler.GetMetricsRequest{ScaledObjectRef: ref("llama", "decode"), MetricName: "tidal-llama-decode"}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := srv.GetMetrics(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
