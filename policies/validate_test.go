package policies

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name string
		edit func(d *Document)
		want []string // every problem, as "path: message prefix"
	}{
		{"envelope", func(d *Document) { d.APIVersion, d.Kind, d.Metadata.Name = "v1", "", "Bad_Name" }, []string{
			`apiVersion: "v1" is not supported`, `kind: is required`, `metadata.name: "Bad_Name" is not a valid DNS-1123 subdomain`}},
		{"target", func(d *Document) { d.Spec.Target = TargetSpec{Namespace: "", Deployment: "x", Topology: "mixed"} }, []string{
			`spec.target.namespace: is required`, `spec.target.topology: "mixed" is not one of`}},
		{"mode", func(d *Document) { d.Spec.Mode = "dryrun" }, []string{`spec.mode: "dryrun" is not one of "apply" or "dry-run" (did you mean "dry-run"?)`}},
		{"no services", func(d *Document) { d.Spec.Services = nil; d.Spec.Schedules = nil }, []string{
			`spec.services: at least one service is required`, `spec.services: topology disaggregated needs exactly one prefill and one decode`}},
		{"max below min", func(d *Document) { d.Spec.Services[1].MinReplicas = ptr[int32](5) }, []string{
			`spec.services[1].maxReplicas: 4 is below minReplicas 5`}},
		{"max missing", func(d *Document) { d.Spec.Services[1].MaxReplicas = 0 }, []string{
			`spec.services[1].maxReplicas: 0 must be at least 1`}},
		{"min zero needs keda", func(d *Document) { d.Spec.Services[1].MinReplicas = ptr[int32](0) }, []string{
			`spec.services[1].minReplicas: 0 needs actuation keda`}},
		{"min zero with keda", func(d *Document) {
			d.Spec.Services[1].MinReplicas = ptr[int32](0)
			d.Spec.Services[1].Actuation = ActuationKEDA
		}, nil},
		{"duplicate service", func(d *Document) { d.Spec.Services[2].Name = "Prefill" }, []string{
			`spec.services[2].name: "Prefill" is already used by spec.services[1]`}},
		{"bad role and actuation", func(d *Document) {
			d.Spec.Services[1].Role = "prefil"
			d.Spec.Services[1].Actuation = "hpa"
		}, []string{`spec.services[1].role: "prefil" is not one of`, `spec.services[1].actuation: "hpa" is not one of`,
			`spec.services: topology disaggregated needs exactly one prefill and one decode service and no aggregated one; found 0 prefill, 1 decode, 0 aggregated`}},
		{"frontend rate", func(d *Document) {
			d.Spec.Services[0].RequestsPerSecondPerReplica = 0
			d.Spec.Services[1].RequestsPerSecondPerReplica = 3
		}, []string{`spec.services[0].requestsPerSecondPerReplica: 0 must be greater than 0 for role frontend`,
			`spec.services[1].requestsPerSecondPerReplica: applies only to role frontend, not "prefill"`}},
		{"negative gpus and startup", func(d *Document) {
			d.Spec.Services[1].GPUsPerReplica = -1
			d.Spec.Services[1].StartupTime = Duration{-time.Second}
		}, []string{`spec.services[1].gpusPerReplica: -1 is negative`, `spec.services[1].startupTime: -1s must be greater than 0`}},
		{"aggregated with prefill", func(d *Document) { d.Spec.Target.Topology = TopologyAggregated }, []string{
			`spec.services: topology aggregated needs exactly one aggregated service and no prefill or decode one; found 0 aggregated, 1 prefill, 1 decode`}},
		{"hybrid with two aggregated", func(d *Document) {
			d.Spec.Target.Topology = TopologyHybrid
			d.Spec.Services[1].Role, d.Spec.Services[2].Role = RoleAggregated, RoleAggregated
		}, nil},
		{"slo", func(d *Document) {
			d.Spec.SLO.TTFT = LatencySLOSpec{Percentile: 100}
			d.Spec.SLO.ITL.Percentile = math.NaN()
		}, []string{`spec.slo.ttft.target: is required`, `spec.slo.ttft.percentile: 100 is outside (0, 100)`,
			`spec.slo.itl.percentile: NaN is not a finite number`}},
		{"metrics", func(d *Document) {
			d.Spec.Metrics = MetricsSpec{Prometheus: PrometheusSpec{URL: "prometheus:9090", Timeout: Duration{-1}},
				Window: Duration{-time.Minute}, Queries: map[Signal]string{"ttfp": "x", SignalITL: ""}}
		}, []string{`spec.metrics.prometheus.url: "prometheus:9090" must start with http:// or https://`,
			`spec.metrics.prometheus.timeout: -1ns must be greater than 0`, `spec.metrics.window: -1m0s must be greater than 0`,
			`spec.metrics.queries.itl: query is empty`, `spec.metrics.queries.ttfp: "ttfp" is not a known signal`}},
		{"planning", func(d *Document) {
			d.Spec.Planning = PlanningSpec{Interval: Duration{time.Hour}, Headroom: ptr(-0.5),
				Forecast: ForecastSpec{Method: "prophet", Coverage: 1, History: Duration{time.Hour}}}
		}, []string{`spec.planning.headroom: -0.5 is negative`, `spec.planning.forecast.method: "prophet" is not one of`,
			`spec.planning.forecast.coverage: 1 is outside (0, 1)`,
			`spec.planning.forecast.history: 1h0m0s is shorter than seasonality 24h0m0s`}},
		{"seasonality vs interval", func(d *Document) {
			d.Spec.Planning = PlanningSpec{Interval: Duration{time.Hour}, Forecast: ForecastSpec{Seasonality: Duration{time.Hour}}}
		}, []string{`spec.planning.forecast.seasonality: 1h0m0s is shorter than two planning intervals (2h0m0s)`}},
		{"stability", func(d *Document) {
			d.Spec.Stability = StabilitySpec{MaxStepUp: -1, MaxStepDown: -2, ScaleUpCooldown: Duration{-1},
				StartupTimeout: Duration{time.Minute}}
		}, []string{`spec.stability.maxStepUp: -1 is negative`, `spec.stability.maxStepDown: -2 is negative`,
			`spec.stability.scaleUpCooldown: -1ns is negative`,
			`spec.services[0].startupTime: 5m0s is longer than spec.stability.startupTimeout 1m0s`,
			`spec.services[1].startupTime`, `spec.services[2].startupTime`}},
		{"negative engine token budget", func(d *Document) { d.Spec.PerformanceModel.MaxBatchedTokens = -1 },
			[]string{`spec.performanceModel.maxBatchedTokens: -1 is negative`}},
		{"scale-down tolerance of 1 or more", func(d *Document) { d.Spec.Stability.ScaleDownTolerance = ptr(1.0) },
			[]string{`spec.stability.scaleDownTolerance: 1 is outside [0, 1)`}},
		{"negative scale-down tolerance", func(d *Document) { d.Spec.Stability.ScaleDownTolerance = ptr(-0.1) },
			[]string{`spec.stability.scaleDownTolerance: -0.1 is outside [0, 1)`}},
		{"scale-down tolerance not a number", func(d *Document) { d.Spec.Stability.ScaleDownTolerance = ptr(math.NaN()) },
			[]string{`spec.stability.scaleDownTolerance: NaN is not a finite number`}},
		{"scale-down window equal to the metrics window", func(d *Document) {
			d.Spec.Metrics.Window = Duration{time.Minute}
			d.Spec.Stability.ScaleDownWindow = Duration{time.Minute}
		}, []string{`spec.stability.scaleDownWindow: 1m0s is not longer than spec.metrics.window 1m0s`}},
		{"scale-down window just longer than the metrics window", func(d *Document) {
			d.Spec.Metrics.Window = Duration{time.Minute}
			d.Spec.Stability.ScaleDownWindow = Duration{time.Minute + time.Second}
		}, nil},
		{"budget below minimums", func(d *Document) { d.Spec.Budget.MaxGPUs = 4; d.Spec.Schedules = nil }, []string{
			`spec.budget.maxGPUs: 4 is below the 5 GPUs the services' minReplicas need`}},
		{"budget below scheduled floors", func(d *Document) { d.Spec.Budget.MaxGPUs = 6 }, []string{
			`spec.schedules[0].services: floors need 7 GPUs while the schedule is active, above spec.budget.maxGPUs 6`}},
		{"schedule", func(d *Document) {
			d.Spec.Schedules = append(d.Spec.Schedules, ScheduleSpec{Name: "peak", Cron: "61 * * * *", TimeZone: "Mars/Olympus",
				Services: map[string]OverrideSpec{"prefill": {MaxReplicas: ptr[int32](1)}, "Decode": {MaxReplicas: ptr[int32](1)},
					"Frontend": {}}})
		}, []string{`spec.schedules[1].name: "peak" is already used by spec.schedules[0]`, `spec.schedules[1].cron: "61 * * * *" is not a cron expression`,
			`spec.schedules[1].timeZone: "Mars/Olympus" is not a known IANA time zone`, `spec.schedules[1].duration: is required`,
			`spec.schedules[1].services.Decode.maxReplicas: 1 is below minReplicas 2`,
			`spec.schedules[1].services.Frontend: sets neither minReplicas nor maxReplicas`,
			`spec.schedules[1].services.prefill: "prefill" is not a service in spec.services (did you mean "Prefill"?)`}},
		{"schedule forms", func(d *Document) {
			d.Spec.Schedules = []ScheduleSpec{
				{Name: "a", Cron: "TZ=UTC 0 8 * * *", Duration: Duration{time.Hour}, Services: d.Spec.Schedules[0].Services},
				{Name: "b", Cron: "@every 1h", TimeZone: "Local", Duration: Duration{time.Hour}},
				{Name: "c", Cron: "@daily", Duration: Duration{time.Hour}, Services: d.Spec.Schedules[0].Services},
			}
		}, []string{`spec.schedules[0].cron: "TZ=UTC 0 8 * * *": set the time zone with timeZone`,
			`spec.schedules[1].cron: "@every 1h": @every is not supported`, `spec.schedules[1].timeZone: "Local" depends on the machine`,
			`spec.schedules[1].services: at least one service override is required`}},
		{"nothing to size with", func(d *Document) { d.Spec.PerformanceModel.Learn = ptr(false) }, []string{
			`spec.performanceModel: learn is false and no profile is given`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDoc()
			tt.edit(&d)
			_, err := New(d)
			var got []string
			for _, p := range Problems(err) {
				got = append(got, p.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestNewValidDocumentHasNoProblems(t *testing.T) {
	if _, err := New(validDoc()); err != nil {
		t.Fatalf("New: %v", err)
	}
	if diff := cmp.Diff([]*FieldError(nil), Problems(nil)); diff != "" {
		t.Errorf("Problems(nil) (-want +got):\n%s", diff)
	}
}
