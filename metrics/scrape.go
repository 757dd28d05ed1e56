package metrics

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"

	"github.com/tidal-planner/tidal/policies"
)

// DefaultScrapeRange is the range ScrapeInterval counts the request counter's samples over by
// default (Options.ScrapeRange). Ten minutes holds at least two samples at any scrape interval up
// to five minutes.
const DefaultScrapeRange = 10 * time.Minute

// scrapeQuery counts the samples of each of the frontend's request-counter series over the range,
// keeps the series that also have a sample in the range before it (older than the range: a
// younger series has fewer samples than the range has intervals), and takes their median: one
// frontend scraped late does not set the interval for the others.
func scrapeQuery(sel string, rng time.Duration) string {
	c := mRequests + "{" + sel + "}"
	in := fmt.Sprintf("count_over_time(%s[%s])", c, promDuration(rng))
	twice := fmt.Sprintf("count_over_time(%s[%s])", c, promDuration(2*rng))
	return fmt.Sprintf("quantile(0.5, %s and (%s > %s))", in, twice, in)
}

// ScrapeInterval measures how often Prometheus scrapes a policy's Dynamo frontend, as of now:
// Options.ScrapeRange over the median sample count, in the range, of the frontend's
// request-counter series older than the range (exact where the interval divides the range;
// elsewhere the count can hold one sample more than the range has intervals, and the estimate
// errs short by at most one interval in the range). It reads the default counter even where the
// policy overrides the requestRate query. 0 with an error when no series older than the range has
// two samples in it (no frontend scraped for that long yet, or a selector that matches none), or
// Prometheus cannot be asked; the caller keeps the policy's window then.
func (a *Adapter) ScrapeInterval(ctx context.Context, p policies.Policy, now time.Time) (time.Duration, error) {
	client, err := a.api(p.Metrics.PrometheusURL)
	if err != nil {
		return 0, err
	}
	timeout := a.timeout(p.Metrics)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := a.acquire(ctx); err != nil {
		return 0, fmt.Errorf("measuring the scrape interval: %s", errReason(err, timeout))
	}
	defer a.release()
	q := scrapeQuery(SelectorOf(p), a.opts.ScrapeRange)
	val, _, _, err := client.Query(ctx, q, now, evalOptions(timeout)...)
	if err != nil {
		return 0, fmt.Errorf("measuring the scrape interval (%s): %s", q, errReason(err, timeout))
	}
	return intervalOf(val, q, a.opts.ScrapeRange)
}

// intervalOf turns scrapeQuery's result into the interval it implies.
func intervalOf(val model.Value, q string, rng time.Duration) (time.Duration, error) {
	vec, ok := val.(model.Vector)
	if !ok {
		return 0, fmt.Errorf("measuring the scrape interval (%s): %s, want an instant vector", q, val.Type())
	}
	if len(vec) == 0 || math.IsNaN(float64(vec[0].Value)) || vec[0].Value < 2 {
		n := 0.0
		if len(vec) > 0 {
			n = float64(vec[0].Value)
		}
		return 0, fmt.Errorf("measuring the scrape interval (%s): %.0f samples in %s of the request counter's series older than that (need 2): has the frontend been scraped for %s yet?",
			q, n, rng, 2*rng)
	}
	return time.Duration(float64(rng) / float64(vec[0].Value)).Round(time.Millisecond), nil
}
