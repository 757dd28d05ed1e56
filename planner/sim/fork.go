package sim

import (
	"reflect"
	"slices"
	"time"
)

// Stepper is a run driven from outside: advanced to a time, forked into an independent copy
// (to try a decision and see what follows), and finished. The hindsight reference searches with
// it. A Stepper is not safe for concurrent use; forks are independent of each other except for
// the per-request latency record (see Fork).
type Stepper struct {
	w  *world
	wl Workload
}

// NewStepper prepares a run like Run's, stopped at time zero.
func NewStepper(d Deployment, wl Workload, as Autoscaler, opt Options) (*Stepper, error) {
	w, err := newWorld(d, wl, as, opt)
	if err != nil {
		return nil, err
	}
	return &Stepper{w: w, wl: wl}, nil
}

// RunUntil advances the run through everything that happens at or before t (from the workload's
// start).
func (s *Stepper) RunUntil(t time.Duration) { s.w.runUntil(t.Seconds()) }

// Tally is a run's totals so far.
type Tally struct {
	Met, Missed int
	// Late counts queued requests without a first token that have already waited longer than the
	// TTFT target: misses to come, whatever happens next.
	Late int
	// GPUSeconds charges the live replicas up to the time asked.
	GPUSeconds float64
}

// TallyAt returns the totals with GPUs charged up to t (>= the last event run).
func (s *Stepper) TallyAt(t time.Duration) Tally {
	w := s.w
	now := max(t.Seconds(), w.t)
	late := 0
	deadline := now - w.d.TTFT.Seconds()
	for _, e := range w.engines {
		if e.state == stateGone || !e.prefills() {
			continue
		}
		for _, r := range e.pq[e.pqHead:] {
			if w.reqs[r].Arrival.Seconds() < deadline {
				late++
			}
		}
	}
	return Tally{Met: w.met, Missed: w.missed, Late: late,
		GPUSeconds: w.gpuSeconds + w.gpus*(now-w.lastGPUChange)}
}

// Horizon is the time the run ends at (the workload's span or last arrival).
func (s *Stepper) Horizon() time.Duration { return time.Duration(s.w.horizon * float64(time.Second)) }

// Finish runs to the end and returns the result.
func (s *Stepper) Finish() Result {
	s.w.loop()
	return s.w.result(s.wl)
}

// Fork returns an independent copy of the run at its current time, scaled from now on by as
// (which must have the same cadence). The copy shares the read-only inputs and the per-request
// latency record with s: the fork's writes to it are overwritten when s itself simulates the same
// requests, so s's Result stays exact as long as s is advanced over every span a fork was (the
// hindsight search's pattern: try on forks, then advance s with the choice). A fork's own Result
// is not meaningful; read its TallyAt.
func (s *Stepper) Fork(as Autoscaler) *Stepper {
	return &Stepper{w: s.w.fork(as), wl: s.wl}
}

func (w *world) fork(as Autoscaler) *world {
	c := *w
	c.as = as
	c.passes, _ = as.(PassObserver)
	c.ev = minHeap[event]{items: slices.Clone(w.ev.items), less: w.ev.less}
	c.engines = make([]*engine, len(w.engines))
	for i, e := range w.engines {
		c.engines[i] = e.clone()
	}
	c.svcs = slices.Clone(w.svcs)
	for i := range c.svcs {
		c.svcs[i].engines = slices.Clone(w.svcs[i].engines)
	}
	c.acct = w.acct.clone()
	c.obs = w.obs.clone(&c)
	capSlices(reflect.ValueOf(&c.obs.series).Elem())
	return &c
}

func (e *engine) clone() *engine {
	c := *e
	c.pq = slices.Clone(e.pq)
	c.batch = slices.Clone(e.batch)
	c.waiting = slices.Clone(e.waiting)
	c.active = minHeap[finishing]{items: slices.Clone(e.active.items), less: e.active.less}
	return &c
}

// capSlices limits every slice reachable in v (a struct) to its length, so an append on either
// side of a fork reallocates instead of writing into the other's backing array; slices of structs
// are copied and their elements capped in turn.
func capSlices(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				capSlices(f)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Struct {
			c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			reflect.Copy(c, v)
			for i := range c.Len() {
				capSlices(c.Index(i))
			}
			v.Set(c)
			return
		}
		v.Set(v.Slice3(0, v.Len(), v.Len()))
	}
}
