package sim

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/tidal-planner/tidal/planner"
)

// Outcome is one request as the frontend saw it: its arrival and lengths, and when it got its
// first token and finished (offsets from the start, FirstToken <= Done), or that it was refused.
type Outcome struct {
	Request
	FirstToken, Done time.Duration
	Rejected         bool
}

// FrontendBuckets are the finite upper bounds of the frontend histograms the simulated world
// observes into: Dynamo's defaults (see dynamoLayouts).
type FrontendBuckets struct {
	TTFT, ITL, InputTokens, OutputTokens []float64
}

// DynamoBuckets returns Dynamo's default frontend bucket bounds, as the simulator uses them.
func DynamoBuckets() FrontendBuckets {
	l := dynamoLayouts()
	return FrontendBuckets{TTFT: l.ttft, ITL: l.itl, InputTokens: l.isl, OutputTokens: l.osl}
}

// ObserveOutcomes feeds a stream of request outcomes through the simulated world's observation
// path (the Prometheus a planner reads there) and returns what an Autoscaler with cadence c
// would be given at each of its decisions up to the stream's end. The deployment d only supplies
// the SLO percentiles and the services (idle: their gauges are zero). It exists so one event
// stream can be checked against the live metrics adapter (see metrics' TestSimAgreesWithAdapter).
func ObserveOutcomes(d Deployment, outs []Outcome, c Cadence, opt Options) ([]planner.Observations, error) {
	rec := &recorder{cad: c}
	w, err := newWorld(d, Workload{Name: "outcomes"}, rec, opt)
	if err != nil {
		return nil, err
	}
	type event struct {
		t    float64
		kind int // 0 arrival, 1 first token, 2 completion, 3 rejection
		i    int
	}
	var evs []event
	for i, o := range outs {
		if o.Rejected {
			evs = append(evs, event{o.Arrival.Seconds(), 3, i})
			continue
		}
		if o.FirstToken < o.Arrival || o.Done < o.FirstToken {
			return nil, fmt.Errorf("outcome %d: first token %v or done %v before its arrival %v", i, o.FirstToken, o.Done, o.Arrival)
		}
		evs = append(evs, event{o.Arrival.Seconds(), 0, i}, event{o.FirstToken.Seconds(), 1, i}, event{o.Done.Seconds(), 2, i})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return cmp.Compare(a.t, b.t) })
	var seen []planner.Observations
	scrape, next := w.opt.ScrapeInterval.Seconds(), c.Interval.Seconds()
	end := 0.0
	if n := len(evs); n > 0 {
		end = evs[n-1].t
	}
	j := 0
	for k := 1; float64(k-1)*scrape <= end; k++ {
		tick := float64(k) * scrape
		for ; j < len(evs) && evs[j].t < tick; j++ { // events at a tick come after its scrape, as in Run
			e, o := evs[j], outs[evs[j].i]
			switch e.kind {
			case 0:
				w.obs.arrival(e.t, o.Request)
			case 1:
				w.obs.firstToken((o.FirstToken - o.Arrival).Seconds(), o.Request)
			case 2:
				itl := 0.0
				if o.OutputTokens > 1 {
					itl = (o.Done - o.FirstToken).Seconds() / float64(o.OutputTokens-1)
				}
				w.obs.completion((o.FirstToken - o.Arrival).Seconds(), itl, o.Request)
			case 3:
				w.obs.rejected()
			}
		}
		w.t = tick
		w.obs.scrape(tick)
		if tick >= next-1e-9 {
			next += c.Interval.Seconds()
			seen = append(seen, w.obs.observations(tick, w.opt.Epoch.Add(time.Duration(tick*float64(time.Second)))))
		}
	}
	return seen, nil
}

// recorder is the cadence-only Autoscaler ObserveOutcomes builds its world with.
type recorder struct{ cad Cadence }

func (r *recorder) Cadence() Cadence { return r.cad }

func (r *recorder) Scale(time.Time, planner.Observations) map[string]int32 { return nil }
