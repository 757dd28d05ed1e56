package policies

import (
	"maps"
	"slices"
)

// New checks doc and compiles it into an immutable Policy: it deep-copies doc, applies the defaults
// (applyDefaults, the one place they live), validates every field and cross-field rule, and
// returns every problem joined with errors.Join (each a *FieldError with its field path; see
// Problems). The returned Policy shares no memory with doc. New is pure apart from reading the
// embedded time zone database.
func New(doc Document) (Policy, error) {
	return newPolicy(doc, "", nil)
}

// newPolicy is New with the file name and a field-path -> line index used to place problems.
func newPolicy(doc Document, source string, lines lineIndex) (Policy, error) {
	d := cloneDocument(doc)
	zeros := explicitZeros(d, lines)
	applyDefaults(&d)
	if p := append(zeros, validate(&d)...); len(p) > 0 {
		for _, e := range p {
			e.File = source
			e.Line = lines.lineOf(e.Path)
		}
		return Policy{}, p.err()
	}
	pol := compile(&d)
	pol.Source = source
	return pol, nil
}

// cloneDocument deep-copies every slice, map and pointer of d.
func cloneDocument(d Document) Document {
	d.Metadata.Labels = maps.Clone(d.Metadata.Labels)
	d.Metadata.Annotations = maps.Clone(d.Metadata.Annotations)
	s := &d.Spec
	s.Services = slices.Clone(s.Services)
	for i := range s.Services {
		s.Services[i].MinReplicas = clonePtr(s.Services[i].MinReplicas)
	}
	s.Metrics.Queries = maps.Clone(s.Metrics.Queries)
	s.Planning.Headroom = clonePtr(s.Planning.Headroom)
	s.Stability.ScaleDownTolerance = clonePtr(s.Stability.ScaleDownTolerance)
	s.Schedules = slices.Clone(s.Schedules)
	for i := range s.Schedules {
		src := s.Schedules[i].Services
		if src == nil {
			continue
		}
		dst := make(map[string]OverrideSpec, len(src))
		for k, o := range src {
			dst[k] = OverrideSpec{MinReplicas: clonePtr(o.MinReplicas), MaxReplicas: clonePtr(o.MaxReplicas)}
		}
		s.Schedules[i].Services = dst
	}
	s.PerformanceModel.Learn = clonePtr(s.PerformanceModel.Learn)
	return d
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// compile turns a defaulted, valid document into a Policy. It assumes validate found nothing.
func compile(d *Document) Policy {
	s := &d.Spec
	p := Policy{
		Name:   d.Metadata.Name,
		Target: Target{Namespace: s.Target.Namespace, Deployment: s.Target.Deployment, Topology: s.Target.Topology},
		Mode:   s.Mode,
		SLO: SLO{
			TTFT: LatencySLO{Target: s.SLO.TTFT.Target.Duration, Percentile: s.SLO.TTFT.Percentile},
			ITL:  LatencySLO{Target: s.SLO.ITL.Target.Duration, Percentile: s.SLO.ITL.Percentile},
			// Objective is a percent in the file and a fraction in the Policy.
			Objective:       s.SLO.Objective / 100,
			ObjectiveWindow: s.SLO.ObjectiveWindow.Duration,
		},
		Metrics: Metrics{
			PrometheusURL:     s.Metrics.Prometheus.URL,
			PrometheusTimeout: s.Metrics.Prometheus.Timeout.Duration,
			Model:             s.Metrics.Model,
			DynamoNamespace:   s.Metrics.DynamoNamespace,
			Window:            s.Metrics.Window.Duration,
		},
		Planning: Planning{
			Interval: s.Planning.Interval.Duration,
			Headroom: *s.Planning.Headroom,
			Forecast: Forecast{
				Method:      s.Planning.Forecast.Method,
				Coverage:    s.Planning.Forecast.Coverage,
				Seasonality: s.Planning.Forecast.Seasonality.Duration,
				History:     s.Planning.Forecast.History.Duration,
			},
		},
		Stability: Stability{
			ScaleDownWindow:    s.Stability.ScaleDownWindow.Duration,
			ScaleDownTolerance: *s.Stability.ScaleDownTolerance,
			MaxStepUp:          s.Stability.MaxStepUp,
			MaxStepDown:        s.Stability.MaxStepDown,
			ScaleUpCooldown:    s.Stability.ScaleUpCooldown.Duration,
			ScaleDownCooldown:  s.Stability.ScaleDownCooldown.Duration,
			StartupTimeout:     s.Stability.StartupTimeout.Duration,
			ConflictBackoff:    s.Stability.ConflictBackoff.Duration,
		},
		Budget: Budget{MaxGPUs: s.Budget.MaxGPUs},
		PerformanceModel: PerformanceModel{Profile: s.PerformanceModel.Profile, Learn: *s.PerformanceModel.Learn,
			MaxBatchedTokens: s.PerformanceModel.MaxBatchedTokens},
		queries: maps.Clone(s.Metrics.Queries),
	}
	p.services, p.schedules = compileServices(s.Services), compileSchedules(s.Schedules)
	return p
}

// compileServices copies valid, defaulted service specs into Services.
func compileServices(specs []ServiceSpec) []Service {
	out := make([]Service, 0, len(specs))
	for _, svc := range specs {
		out = append(out, Service{
			Name: svc.Name, Role: svc.Role, MinReplicas: *svc.MinReplicas, MaxReplicas: svc.MaxReplicas,
			GPUsPerReplica: svc.GPUsPerReplica, StartupTime: svc.StartupTime.Duration, Actuation: svc.Actuation,
			RequestsPerSecondPerReplica: svc.RequestsPerSecondPerReplica,
		})
	}
	return out
}

// compileSchedules compiles valid schedule specs, in file order.
func compileSchedules(specs []ScheduleSpec) []Schedule {
	var out []Schedule
	for _, sch := range specs {
		out = append(out, compileSchedule(sch))
	}
	return out
}

// compileSchedule builds a Schedule from a valid spec; parse errors cannot happen here.
func compileSchedule(sch ScheduleSpec) Schedule {
	c, _ := parseCron(sch.Cron)
	loc, _ := loadZone(sch.TimeZone)
	out := Schedule{Name: sch.Name, Cron: sch.Cron, Location: loc, Duration: sch.Duration.Duration, cron: c,
		overrides: make(map[string]Override, len(sch.Services))}
	for name, o := range sch.Services {
		out.overrides[name] = Override{MinReplicas: clonePtr(o.MinReplicas), MaxReplicas: clonePtr(o.MaxReplicas)}
	}
	return out
}
