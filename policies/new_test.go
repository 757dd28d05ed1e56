package policies

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

// validDoc returns a small valid disaggregated document built in Go.
func validDoc() Document {
	return Document{
		APIVersion: APIVersion, Kind: Kind,
		Metadata: Metadata{Name: "p", Labels: map[string]string{"team": "a"}},
		Spec: Spec{
			Target: TargetSpec{Namespace: "ns", Deployment: "dgd", Topology: TopologyDisaggregated},
			Services: []ServiceSpec{
				{Name: "Frontend", Role: RoleFrontend, MaxReplicas: 2, RequestsPerSecondPerReplica: 100},
				{Name: "Prefill", Role: RolePrefill, MaxReplicas: 4, GPUsPerReplica: 1},
				{Name: "Decode", Role: RoleDecode, MinReplicas: ptr[int32](2), MaxReplicas: 8, GPUsPerReplica: 2},
			},
			SLO: SLOSpec{
				TTFT: LatencySLOSpec{Target: Duration{300 * time.Millisecond}},
				ITL:  LatencySLOSpec{Target: Duration{20 * time.Millisecond}, Percentile: 95},
			},
			Metrics: MetricsSpec{Queries: map[Signal]string{SignalRequestRate: "sum(rate(x[1m]))"}},
			Budget:  BudgetSpec{MaxGPUs: 20},
			Schedules: []ScheduleSpec{{
				Name: "peak", Cron: "0 8 * * 1-5", TimeZone: "Europe/Paris", Duration: Duration{2 * time.Hour},
				Services: map[string]OverrideSpec{"Prefill": {MinReplicas: ptr[int32](3)}},
			}},
		},
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	p, err := New(validDoc())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	got := struct {
		Mode      Mode
		SLO       SLO
		Metrics   Metrics
		Planning  Planning
		Stability Stability
		Model     PerformanceModel
		Services  []Service
	}{p.Mode, p.SLO, p.Metrics, p.Planning, p.Stability, p.PerformanceModel, p.Services()}
	want := got
	want.Mode = ModeApply
	want.SLO = SLO{TTFT: LatencySLO{300 * time.Millisecond, 90}, ITL: LatencySLO{20 * time.Millisecond, 95},
		Objective: 0.99, ObjectiveWindow: 24 * time.Hour}
	want.Metrics = Metrics{PrometheusURL: DefaultPrometheusURL, PrometheusTimeout: 5 * time.Second,
		DynamoNamespace: "ns-dgd", Window: time.Minute}
	want.Planning = Planning{Interval: time.Minute, Headroom: 0,
		Forecast: Forecast{Method: "auto", Coverage: 0.9, Seasonality: 24 * time.Hour, History: 336 * time.Hour}}
	want.Stability = Stability{ScaleDownWindow: 5 * time.Minute, ScaleDownTolerance: 0.1, MaxStepDown: 0, StartupTimeout: 15 * time.Minute, ConflictBackoff: 5 * time.Minute}
	want.Model = PerformanceModel{Learn: true, MaxBatchedTokens: DefaultMaxBatchedTokens}
	want.Services = []Service{
		{Name: "Frontend", Role: RoleFrontend, MinReplicas: 1, MaxReplicas: 2, StartupTime: 5 * time.Minute,
			Actuation: ActuationScale, RequestsPerSecondPerReplica: 100},
		{Name: "Prefill", Role: RolePrefill, MinReplicas: 1, MaxReplicas: 4, GPUsPerReplica: 1,
			StartupTime: 5 * time.Minute, Actuation: ActuationScale},
		{Name: "Decode", Role: RoleDecode, MinReplicas: 2, MaxReplicas: 8, GPUsPerReplica: 2,
			StartupTime: 5 * time.Minute, Actuation: ActuationScale},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestNewKeepsExplicitZeroHeadroom(t *testing.T) {
	d := validDoc()
	d.Spec.Planning.Headroom = ptr(0.0)
	d.Spec.Stability.ScaleDownTolerance = ptr(0.0)
	d.Spec.PerformanceModel = ModelSpec{Profile: "/profiles/x", Learn: ptr(false)}
	p, err := New(d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if p.Planning.Headroom != 0 || p.Stability.ScaleDownTolerance != 0 || p.PerformanceModel.Learn {
		t.Errorf("headroom %g scale-down tolerance %g learn %v; want 0, 0 and false as written",
			p.Planning.Headroom, p.Stability.ScaleDownTolerance, p.PerformanceModel.Learn)
	}
}

func TestNewDoesNotShareMemoryWithDocument(t *testing.T) {
	d := validDoc()
	p, err := New(d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	before := snapshot(p)
	*d.Spec.Services[2].MinReplicas = 7
	d.Spec.Services[0].Name = "changed"
	d.Spec.Metrics.Queries[SignalRequestRate] = "changed"
	d.Spec.Metrics.Queries[SignalTTFT] = "added"
	*d.Spec.Schedules[0].Services["Prefill"].MinReplicas = 9
	d.Spec.Schedules[0].Services["Decode"] = OverrideSpec{MaxReplicas: ptr[int32](1)}
	d.Spec.Schedules[0].Name = "changed"
	// Mutating what accessors return must not reach the policy either.
	p.Services()[0].Name = "changed"
	o, _ := p.ScheduleAt(0).Override("Prefill")
	*o.MinReplicas = 11
	if diff := cmp.Diff(before, snapshot(p)); diff != "" {
		t.Errorf("policy changed after its document was mutated (-before +after):\n%s", diff)
	}
}

// snapshot renders everything reachable from a policy, accessors included.
func snapshot(p Policy) string {
	var b strings.Builder
	b.WriteString(cmp.Diff(nil, p.Services()))
	for _, s := range Signals() {
		q, ok := p.Query(s)
		b.WriteString(string(s) + "=" + q + map[bool]string{true: "!", false: "?"}[ok] + "\n")
	}
	for _, s := range p.Schedules() {
		b.WriteString(s.Name + s.Cron + s.Duration.String() + s.Location.String() + "\n")
		for _, svc := range p.Services() {
			if o, ok := s.Override(svc.Name); ok {
				b.WriteString(svc.Name + cmp.Diff(nil, o))
			}
		}
	}
	return b.String()
}
