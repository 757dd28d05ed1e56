package planner

import (
	"slices"
	"time"

	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/planner/model"
	"github.com/tidal-planner/tidal/policies"
)

// State is what the planner remembers between decisions: the load forecasters, each service's
// recent needs (for the scale-down window), its last scale-up and change times, and the online
// performance models. Build it with NewState.
//
// The caller owns a State and passes a pointer to Plan, which updates it in place for the next
// call. To replay the same inputs twice (determinism tests, what-if runs) pass pointers to
// Clone()s. A State is not safe for concurrent use.
type State struct {
	// Forecasters of the deployment's load, one per signal. A nil forecaster means "no forecast":
	// Plan then sizes for the observed load.
	forecasters [numSignals]forecast.Forecaster

	// profile is the loaded performance profile, if any (immutable).
	profile    model.Profile
	hasProfile bool

	services []serviceState
	recent   recentLoad         // the last intervals' observed load, for the forecast bound
	growth   [numSignals]growth // per load signal: its growth over the lead time (reserve.go)
	cold     coldness           // which load forecasters have been seen warm
	points   []forecast.Point   // scratch for Forecast
	scratch  []taggedReason     // scratch for one decision's reasons
	lastTime time.Time          // time of the previous Plan call
	inflight inflightMark       // the last in-flight reading, for the arrivals estimate
}

// serviceState is one service's memory, matched to the policy by name.
type serviceState struct {
	name         string
	last         int32 // last desired count decided (valid when decided)
	decided      bool
	lastUp       time.Time // when the last scale-up was decided
	lastChange   time.Time // when the desired count last changed
	history      []needAt  // needs within the scale-down window, oldest first
	ttft, itl    model.Learned
	ttftCal      model.Calibrator
	itlCal       model.Calibrator
	itlReach     model.Reach        // the highest KV usage itlCal's samples came from (decaying)
	batchCtx     model.BatchContext // decode's batch context over input + output / 2 (learn.go)
	refuted      time.Time          // when the error budget last burned with a faster engine credited past its reach (zero: never)
	reasonStart  int                // this decision's reasons in the scratch buffer: [reasonStart, reasonEnd)
	reasonEnd    int
	gpus         int32          // GPUs per replica last read from the DGD (0: never)
	gpusUnknown  bool           // this decision: a worker's GPUs per replica are unknown
	ttftBreached bool           // the last decision saw a TTFT breach with the queue empty (guard.go)
	latencyMarks [2]latencyMark // the last TTFT and ITL guard scale-ups, to see whether they helped (unresponsive.go)
	risk         risk           // the error-budget controller's state (errorbudget.go)
	burned       burnMark       // the count that last burned the budget, and at what load (burned.go)
	writes       writeMemory    // this process's own writes, to tell another writer's apart

	// unreadySeen and startingSeen are the last intervals that found fewer replicas ready than
	// desired, and this planner's own scale-up still starting: a metrics window read up to one
	// window later still holds the misses and the queueing of that time (stillInWindow).
	unreadySeen, startingSeen time.Time
	// drainPending says the queue built while replicas were not all serving has not yet been
	// seen drained (learn.go, backlogDraining).
	drainPending bool
}

// needAt is one past need, for the scale-down window.
type needAt struct {
	t    time.Time
	need int32
	load Load // the load planned for (forecast and reserve included)
}

// Options configure NewState.
type Options struct {
	// Profile is the performance profile to size with; nil means learn online (when the policy
	// allows) or rely on the reactive guard alone.
	Profile *model.Profile
	// NewForecaster builds one forecaster per load signal. Nil selects DefaultForecasterFor(p).
	NewForecaster func(policies.Forecast, time.Duration) forecast.Forecaster
}

// NewState returns the initial state for a policy.
func NewState(p policies.Policy, opts Options) State {
	newFC := opts.NewForecaster
	if newFC == nil {
		newFC = DefaultForecasterFor(p)
	}
	fc, iv := p.Planning.Forecast, p.Planning.Interval
	var st State
	for k := range st.forecasters {
		st.forecasters[k] = newFC(fc, iv)
	}
	if opts.Profile != nil {
		st.profile, st.hasProfile = *opts.Profile, true
	}
	for k := range st.growth {
		st.growth[k].setLead(leadSteps(p), p.Planning.Interval, p.Metrics.Window)
	}
	st.syncServices(p)
	return st
}

// DefaultForecaster is the policy's method from the forecast package, one step per planning
// interval, with the season and history converted to steps and the forecast package's default
// MaxHorizon (12 steps). The method fits means of forecast.AggregateFor intervals (hourly means
// at a daily season); forecasts and their bands stay per interval. NewState uses DefaultForecasterFor instead, which tracks only the
// policy's lead time. It returns nil, which Plan reports as "no forecast" and answers by sizing
// for the observed load, when the forecast package rejects the method or options.
func DefaultForecaster(fc policies.Forecast, interval time.Duration) forecast.Forecaster {
	return newForecaster(fc, interval, 0)
}

// DefaultForecasterFor returns the forecaster constructor NewState uses when
// Options.NewForecaster is nil: DefaultForecaster with forecast.Options.MaxHorizon set to the
// longest lead time among p's services (ceil((startup + interval) / interval) steps), the
// furthest Plan looks. Forecasts up to that horizon are the same as with the default 12, and the
// error windows kept per horizon (most of a forecaster's memory) shrink with it. A forecaster
// built for one policy and asked further ahead (a later policy version with a longer startup
// time) still answers: beyond MaxHorizon the forecast package widens the last tracked band.
func DefaultForecasterFor(p policies.Policy) func(policies.Forecast, time.Duration) forecast.Forecaster {
	lead := leadSteps(p)
	return func(fc policies.Forecast, interval time.Duration) forecast.Forecaster {
		return newForecaster(fc, interval, lead)
	}
}

// leadSteps is the longest lead time in intervals among p's services (at least 1), as Plan
// forecasts it.
func leadSteps(p policies.Policy) int {
	h := 1
	for i := range p.NumServices() {
		h = max(h, horizon(p.ServiceAt(i).StartupTime, p.Planning.Interval))
	}
	return h
}

// newForecaster builds the policy's forecaster tracking maxHorizon steps (0: the package default).
func newForecaster(fc policies.Forecast, interval time.Duration, maxHorizon int) forecast.Forecaster {
	if interval <= 0 {
		return nil
	}
	period, history := int(fc.Seasonality/interval), int(fc.History/interval)
	opts := forecast.Options{
		Period:     period,
		History:    history,
		MaxHorizon: maxHorizon,
		// Fit the method on means of k intervals (a season of at most forecast.SeasonPoints):
		// refits and memory scale with the coarse series, 14 days at 15 s are 336 means.
		Aggregate: forecast.AggregateFor(period, history),
	}
	f, err := forecast.New(fc.Method, opts)
	if err != nil {
		return nil
	}
	return f
}

// syncServices matches the service memory to the policy's services by name, keeping what is
// known of services that remain and starting fresh for new ones. It allocates only when the
// service list changed.
func (st *State) syncServices(p policies.Policy) {
	n := p.NumServices()
	same := len(st.services) == n
	for i := 0; same && i < n; i++ {
		same = st.services[i].name == p.ServiceAt(i).Name
	}
	if same {
		return
	}
	next := make([]serviceState, n)
	for i := range next {
		name := p.ServiceAt(i).Name
		next[i].name = name
		for _, old := range st.services {
			if old.name == name {
				next[i] = old
			}
		}
	}
	st.services = next
}

// Clone returns an independent deep copy (forecasters cloned, buffers copied).
func (st State) Clone() State {
	c := st
	for k, f := range st.forecasters {
		if f != nil {
			c.forecasters[k] = f.Clone()
		}
	}
	c.recent = st.recent.clone()
	for k := range c.growth {
		c.growth[k] = st.growth[k].clone()
	}
	c.services = slices.Clone(st.services)
	for i := range c.services {
		c.services[i].history = slices.Clone(st.services[i].history)
		c.services[i].writes.intents = slices.Clone(st.services[i].writes.intents)
	}
	c.points = nil
	c.scratch = nil
	return c
}

// record appends a need to the service's history and drops entries the window no longer needs:
// it keeps the newest entry at least window old (its need held at the start of the window), so the
// history covers the window even when intervals jitter. The backing array is reused.
func (s *serviceState) record(now time.Time, need int32, l Load, window time.Duration) {
	cut := 0
	for cut+1 < len(s.history) && now.Sub(s.history[cut+1].t) >= window {
		cut++
	}
	if cut > 0 {
		s.history = append(s.history[:0], s.history[cut:]...)
	}
	s.history = append(s.history, needAt{t: now, need: need, load: l})
}

// highestLoad is l with each rate raised to the highest the window's history planned for.
func (s *serviceState) highestLoad(l Load) Load {
	for _, h := range s.history {
		l.RequestRate, l.InputTokenRate = max(l.RequestRate, h.load.RequestRate), max(l.InputTokenRate, h.load.InputTokenRate)
		l.OutputTokenRate = max(l.OutputTokenRate, h.load.OutputTokenRate)
	}
	return l
}

// highestNeed returns the highest need held during the window before now, and whether the history
// covers the whole window.
func (s *serviceState) highestNeed(now time.Time, window time.Duration) (int32, bool) {
	var hi int32
	for _, h := range s.history {
		hi = max(hi, h.need)
	}
	covered := len(s.history) > 0 && now.Sub(s.history[0].t) >= window
	return hi, covered
}
