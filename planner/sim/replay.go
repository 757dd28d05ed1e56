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
	w, err := newWorld(d, Workload{Name: "outcomes"}, &recorder{cad: c}, opt)
	if err != nil {
		return nil, err
	}
	evs, err := outcomeEvents(outs)
	if err != nil {
		return nil, err
	}
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
			w.obs.replay(evs[j], outs[evs[j].i])
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

// outcomeEvent is one frontend event of outcome i at t seconds.
type outcomeEvent struct {
	t    float64
	kind outcomeKind
	i    int
}

type outcomeKind uint8

const (
	outArrival outcomeKind = iota
	outFirstToken
	outDone
	outRejected
)

// outcomeEvents lists the outcomes' events by time (stable: an outcome's arrival, first token
// and completion keep their order on ties).
func outcomeEvents(outs []Outcome) ([]outcomeEvent, error) {
	var evs []outcomeEvent
	for i, o := range outs {
		if o.Rejected {
			evs = append(evs, outcomeEvent{o.Arrival.Seconds(), outRejected, i})
			continue
		}
		if o.FirstToken < o.Arrival || o.Done < o.FirstToken {
			return nil, fmt.Errorf("outcome %d: first token %v or done %v before its arrival %v", i, o.FirstToken, o.Done, o.Arrival)
		}
		evs = append(evs, outcomeEvent{o.Arrival.Seconds(), outArrival, i},
			outcomeEvent{o.FirstToken.Seconds(), outFirstToken, i}, outcomeEvent{o.Done.Seconds(), outDone, i})
	}
	slices.SortStableFunc(evs, func(a, b outcomeEvent) int { return cmp.Compare(a.t, b.t) })
	return evs, nil
}

// replay hands one outcome event to the observer as the world would.
func (o *observer) replay(e outcomeEvent, out Outcome) {
	ttft := (out.FirstToken - out.Arrival).Seconds()
	switch e.kind {
	case outArrival:
		o.arrival(e.t, out.Request)
	case outFirstToken:
		o.firstToken(ttft, out.Request)
	case outDone:
		itl := 0.0
		if out.OutputTokens > 1 {
			itl = (out.Done - out.FirstToken).Seconds() / float64(out.OutputTokens-1)
		}
		o.completion(ttft, itl, out.Request)
	case outRejected:
		o.rejected()
	}
}

// recorder is the cadence-only Autoscaler ObserveOutcomes builds its world with.
type recorder struct{ cad Cadence }

func (r *recorder) Cadence() Cadence { return r.cad }

func (r *recorder) Scale(time.Time, planner.Observations) map[string]int32 { return nil }
