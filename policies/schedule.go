package policies

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	// The embedded time zone database makes schedules work in images without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// cronParser accepts the standard 5-field form and @hourly/@daily/@weekly/@monthly/@yearly
// (@annually, @midnight). @every is rejected: a window needs wall-clock firings.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseCron parses a schedule's cron expression, rejecting forms the policy does not allow.
func parseCron(expr string) (cron.Schedule, error) {
	e := strings.TrimSpace(expr)
	switch {
	case e == "":
		return nil, fmt.Errorf("is required: 5 fields (minute hour day-of-month month day-of-week) or @daily-style")
	case strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ="):
		return nil, fmt.Errorf("%q: set the time zone with timeZone, not a TZ= prefix", expr)
	case strings.HasPrefix(e, "@every"):
		return nil, fmt.Errorf("%q: @every is not supported; use a 5-field expression", expr)
	}
	s, err := cronParser.Parse(e)
	if err != nil {
		return nil, fmt.Errorf("%q is not a cron expression (minute hour day-of-month month day-of-week, or @daily-style): %v", expr, err)
	}
	return s, nil
}

// loadZone returns the schedule's time zone; "" is UTC (never the machine's local zone).
func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if name == "Local" {
		return nil, fmt.Errorf("%q depends on the machine; name a zone such as \"Europe/Paris\" or \"UTC\"", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q is not a known IANA time zone (e.g. \"America/New_York\"): %v", name, err)
	}
	return loc, nil
}

func validateSchedules(p *problems, s *Spec) {
	seen := map[string]int{}
	for i := range s.Schedules {
		sch := &s.Schedules[i]
		path := fmt.Sprintf("spec.schedules[%d]", i)
		if sch.Name == "" {
			p.addf(path+".name", "is required")
		} else if j, dup := seen[sch.Name]; dup {
			p.addf(path+".name", "%q is already used by spec.schedules[%d]", sch.Name, j)
		} else {
			seen[sch.Name] = i
		}
		if _, err := parseCron(sch.Cron); err != nil {
			p.addf(path+".cron", "%v", err)
		}
		if _, err := loadZone(sch.TimeZone); err != nil {
			p.addf(path+".timeZone", "%v", err)
		}
		if sch.Duration.Duration == 0 {
			p.addf(path+".duration", "is required: how long each window lasts, e.g. \"2h\"")
		} else {
			checkPositive(p, path+".duration", sch.Duration)
		}
		validateOverrides(p, path, s, sch)
	}
}

func validateOverrides(p *problems, path string, s *Spec, sch *ScheduleSpec) {
	if len(sch.Services) == 0 {
		p.addf(path+".services", "at least one service override is required")
	}
	names := make([]string, len(s.Services))
	for i, svc := range s.Services {
		names[i] = svc.Name
	}
	for _, name := range sortedKeys(sch.Services) {
		o := sch.Services[name]
		opath := joinPath(path+".services", name)
		idx := -1
		for i, n := range names {
			if n == name {
				idx = i
			}
		}
		if idx < 0 {
			p.addf(opath, "%q is not a service in spec.services%s", name, didYouMean(name, names))
			continue
		}
		if o.MinReplicas == nil && o.MaxReplicas == nil {
			p.addf(opath, "sets neither minReplicas nor maxReplicas")
			continue
		}
		svc := s.Services[idx]
		lo, hi := *svc.MinReplicas, svc.MaxReplicas
		var base problems
		if checkBounds(&base, "", lo, hi, svc.Actuation); len(base) > 0 {
			continue // the service's own bounds are wrong and reported there
		}
		if o.MinReplicas != nil {
			lo = *o.MinReplicas
		}
		if o.MaxReplicas != nil {
			hi = *o.MaxReplicas
		}
		checkBounds(p, opath, lo, hi, svc.Actuation)
	}
}
