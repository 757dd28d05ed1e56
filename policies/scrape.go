package policies

import (
	"fmt"
	"time"
)

// WindowScrapes is how many scrape intervals a windowed query's range must span at least.
// rate() needs two samples in its range; a scrape not yet ingested and one failed scrape take two
// more (Robust Perception, "What range should I use with rate()?": at least 4x the scrape
// interval; Grafana's $__rate_interval is max($__interval + scrape interval, 4 x scrape interval)).
// The default window, 1m, is four of the 15 s scrapes it was written for; Prometheus's own default
// scrape_interval is 1m, where it holds one sample and every windowed signal is missing.
const WindowScrapes = 4

// FitScrape returns the policy tidal runs when Prometheus scrapes the Dynamo frontend every
// scrape (as tidal measured it; 0: not known): Metrics.ScrapeInterval set, and
// spec.metrics.window widened to WindowScrapes scrapes (whole seconds) when it spans fewer.
// spec.stability.scaleDownWindow must stay longer than the window (a window Prometheus covered
// only in part can read low for one window): it becomes the window plus one planning interval
// when it is not; spec.slo.objectiveWindow, likewise, twice the window. note says what was
// widened and why, "" when nothing was. A policy's own longer window is never shortened.
func (p Policy) FitScrape(scrape time.Duration) (fitted Policy, note string) {
	p.Metrics.ScrapeInterval = max(scrape, 0)
	need := (WindowScrapes*scrape + time.Second - 1).Truncate(time.Second)
	if scrape <= 0 || p.Metrics.Window >= need {
		return p, ""
	}
	note = fmt.Sprintf("spec.metrics.window %s widened to %s: Prometheus scrapes the frontend every %s, and a windowed query needs %d scrapes in its range",
		p.Metrics.Window, need, scrape, WindowScrapes)
	p.Metrics.Window = need
	if p.Stability.ScaleDownWindow <= need {
		sd := need + p.Planning.Interval
		note += fmt.Sprintf("; spec.stability.scaleDownWindow %s widened to %s, to stay longer than the window", p.Stability.ScaleDownWindow, sd)
		p.Stability.ScaleDownWindow = sd
	}
	if p.SLO.ObjectiveWindow <= need {
		ow := 2 * need
		note += fmt.Sprintf("; spec.slo.objectiveWindow %s widened to %s, to stay longer than the window", p.SLO.ObjectiveWindow, ow)
		p.SLO.ObjectiveWindow = ow
	}
	return p, note
}
