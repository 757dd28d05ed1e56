package planner

import (
	"context"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

// ScrapeReader measures how often Prometheus scrapes a policy's Dynamo frontend (the metrics
// adapter's ScrapeInterval). An error means it could not tell; the policy's window is kept then.
// Safe for concurrent use.
type ScrapeReader interface {
	ScrapeInterval(ctx context.Context, p policies.Policy, now time.Time) (time.Duration, error)
}

// RemeasureScrape is how long a worker trusts a measured scrape interval before it measures it
// again (until one is measured, it measures at every tick).
const RemeasureScrape = time.Hour

// scrapeFit is a worker's measured scrape interval: what it runs its policy with.
type scrapeFit struct {
	interval time.Duration
	at       time.Time // when interval was measured (or, once known, a measurement failed); zero: never
	tried    time.Time // the last attempt
	note     string    // the last fitting logged
	failure  string    // the last failure logged
}

// fit returns base fitted to the frontend's scrape interval (policies.Policy.FitScrape),
// measuring the interval first when it is due. Every change of what the fitting does, and the
// first failure of each kind, is logged with its reason; a failure keeps the last interval
// measured (none: base's own window).
func (l *Loop) fit(ctx context.Context, base policies.Policy, sf *scrapeFit) policies.Policy {
	now := l.cfg.Clock.Now()
	if l.cfg.Scrape != nil && sf.due(now) {
		l.measureScrape(ctx, base, sf, now)
	}
	p, note := base.FitScrape(sf.interval)
	if note != sf.note {
		sf.note = note
		switch {
		case note != "":
			l.cfg.Logger.Info("fitted the policy's windows to the frontend's scrape interval", "policy", base.Name,
				"scrapeInterval", sf.interval, "change", note)
		case sf.interval > 0:
			l.cfg.Logger.Info("the policy's metrics window covers enough scrapes", "policy", base.Name,
				"scrapeInterval", sf.interval, "window", base.Metrics.Window, "scrapes", policies.WindowScrapes)
		}
	}
	return p
}

// due reports whether to measure at now: once per clock reading until an interval is known (the
// worker's start and its first tick share one), then every RemeasureScrape.
func (sf *scrapeFit) due(now time.Time) bool {
	if sf.at.IsZero() {
		return sf.tried.IsZero() || now.After(sf.tried)
	}
	return now.Sub(sf.at) >= RemeasureScrape
}

// measureScrape asks the ScrapeReader for the interval and records the answer in sf.
func (l *Loop) measureScrape(ctx context.Context, base policies.Policy, sf *scrapeFit, now time.Time) {
	ctx, cancel := l.tickContext(ctx, base)
	defer cancel()
	d, err := l.cfg.Scrape.ScrapeInterval(ctx, base, now)
	sf.tried = now
	if err != nil || d <= 0 {
		if sf.interval > 0 {
			sf.at = now // keep the last interval known for another RemeasureScrape
		}
		why := "no interval"
		if err != nil {
			why = err.Error()
		}
		if why != sf.failure {
			sf.failure = why
			l.cfg.Logger.Warn("could not measure how often Prometheus scrapes the frontend; keeping the windows as they are",
				"policy", base.Name, "scrapeInterval", sf.interval, "window", base.Metrics.Window, "err", why)
		}
		return
	}
	if d != sf.interval {
		l.cfg.Logger.Info("measured how often Prometheus scrapes the frontend", "policy", base.Name,
			"scrapeInterval", d, "previous", sf.interval)
	}
	sf.interval, sf.at, sf.failure = d, now, ""
}
