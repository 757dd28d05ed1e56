package compete

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
)

// HindsightOptions tune the hindsight search; zero fields take the defaults noted.
type HindsightOptions struct {
	// Window is how long one allocation holds (the longest startup time, and at least 2 minutes).
	Window time.Duration
	// Passes is the number of miss prices tried (5).
	Passes int
	// BudgetGPUs caps the GPUs of an allocation (0: none), as the policy's budget caps every
	// planner's.
	BudgetGPUs int
}

// Hindsight is the hindsight reference: knowing every arrival, it holds one allocation per window
// per service, requested one startup time ahead (a scale-up starts a startup time before its window;
// a scale-down takes effect at its window's start), and searches the allocations in the same world
// as the planners, with the state (queues, batches, starting replicas) carried from window to
// window.
//
// The search minimises GPU-seconds + price x misses window by window: at each window it forks the
// run where the window's scale-ups would be requested, tries allocations by coordinate descent from
// the previous window's (one service at a time, up while it pays, else down while it pays), each
// run to the window's end, and commits the cheapest. The miss price decides which windows take the
// misses; it is bisected (geometrically) so that the day's attainment reaches the goal, and the
// cheapest pass that reaches it is the answer. It is a search, not a proof of optimality: greedy per
// window, with a finite number of prices.
type Hindsight struct {
	d    sim.Deployment
	wl   sim.Workload
	opt  sim.Options
	o    HindsightOptions
	lead float64 // longest startup, seconds
	win  float64
	// Runs counts the simulated window trials of the last Search.
	Runs int
}

// NewHindsight prepares the search over a (warm-started) deployment and workload.
func NewHindsight(d sim.Deployment, wl sim.Workload, opt sim.Options, o HindsightOptions) *Hindsight {
	if o.Window <= 0 {
		o.Window = 2 * time.Minute
	}
	if o.Passes <= 0 {
		o.Passes = 5
	}
	h := &Hindsight{d: d, wl: wl, opt: opt, o: o}
	for _, s := range d.Services {
		h.lead = max(h.lead, s.StartupTime.Seconds())
	}
	h.win = max(o.Window.Seconds(), h.lead)
	h.opt.Progress = nil
	return h
}

// HindsightResult is the chosen pass and what the search tried.
type HindsightResult struct {
	Result sim.Result
	// Price is the miss price (GPU-seconds per miss) of the chosen pass.
	Price float64
	// Tried lists every pass's price, attainment and GPU-hours.
	Tried []HindsightPass
	// Reached is false when no pass reached the goal. Result is then the best attainment a pass
	// found, or, when every pass stopped short, the highest price tried run to the end.
	Reached bool
	// Unstopped says every pass stopped short of the goal and Result is the highest price tried,
	// Price, run to the end (unstopped).
	Unstopped bool
}

// HindsightPass is one pass of the price search. An aborted pass stopped once its misses made
// the goal unreachable; its numbers are partial.
type HindsightPass struct {
	Price, Attainment, GPUHours float64
	Aborted                     bool
}

// Search finds the cheapest allocation schedule reaching goal; progress (may be nil) gets the
// fraction done.
func (h *Hindsight) Search(goal float64, progress func(float64)) (HindsightResult, error) {
	var out HindsightResult
	lo, hi := 0.0, 0.0 // prices known to fall short / to reach the goal
	price := 10.0      // GPU-seconds per miss: bracketed by factors of 10, then bisected geometrically
	for p := range h.o.Passes {
		frac := func(x float64) {
			if progress != nil {
				progress((float64(p) + x) / float64(h.o.Passes))
			}
		}
		r, err := h.pass(price, goal, frac)
		if err != nil {
			return HindsightResult{}, err
		}
		out.Tried = append(out.Tried, HindsightPass{Price: price, Attainment: r.Attainment, GPUHours: r.GPUHours, Aborted: r.Aborted})
		ok := !r.Aborted && r.Attainment >= goal
		switch {
		case ok && (!out.Reached || r.GPUHours < out.Result.GPUHours):
			out.Result, out.Price, out.Reached = r, price, true
		case !out.Reached && !r.Aborted && r.Attainment > out.Result.Attainment:
			out.Result, out.Price = r, price
		}
		if ok {
			hi = price
		} else {
			lo = price
		}
		switch {
		case hi == 0:
			price *= 10
		case lo == 0:
			price /= 10
		default:
			price = math.Sqrt(lo * hi)
		}
	}
	if !slices.ContainsFunc(out.Tried, func(p HindsightPass) bool { return !p.Aborted }) {
		return h.unstopped(out, lo) // lo: every pass fell short, so the highest price tried
	}
	return out, nil
}

// unstopped completes a search whose every pass stopped short of the goal (a goal of 100% stops
// at the first unavoidable miss): it runs the highest price tried to the end, allowing any miss,
// so the result shown is a whole run, not an empty one.
func (h *Hindsight) unstopped(out HindsightResult, price float64) (HindsightResult, error) {
	r, err := h.pass(price, 0, func(float64) {})
	if err != nil {
		return HindsightResult{}, err
	}
	out.Result, out.Price, out.Unstopped = r, price, true
	return out, nil
}

// pass runs the window-by-window search at one miss price and returns the committed run; it
// stops early (Result.Aborted) once more requests missed than the goal allows.
func (h *Hindsight) pass(price, goal float64, progress func(float64)) (sim.Result, error) {
	init := make([]int32, len(h.d.Services))
	for i, s := range h.d.Services {
		init[i] = int32(s.Initial)
	}
	sched := &schedule{d: h.d, win: h.win, epoch: h.opt.Epoch, init: init}
	st, err := sim.NewStepper(h.d, h.wl, sched, h.opt)
	if err != nil {
		return sim.Result{}, fmt.Errorf("hindsight: %w", err)
	}
	windows := int(math.Ceil(st.Horizon().Seconds() / h.win))
	allowed := int(math.Floor((1 - goal) * float64(len(h.wl.Requests))))
	prev := init
	for k := range windows {
		// Just before the tick at which the window's scale-ups must be asked for, so that tick
		// already sees the choice.
		at := secs(max(float64(k)*h.win-h.lead, 0)) - time.Millisecond
		st.RunUntil(at)
		if t := st.TallyAt(at); t.Missed > allowed {
			return sim.Result{Aborted: true, Met: t.Met, GPUHours: t.GPUSeconds / 3600,
				Attainment: float64(t.Met) / float64(max(t.Met+t.Missed, 1)), Simulated: at}, nil
		}
		prev = h.choose(st, sched, k, prev, at, secs(float64(k+1)*h.win), price)
		sched.alloc = append(sched.alloc, prev)
		progress(float64(k+1) / float64(windows))
	}
	return st.Finish(), nil
}

// choose is the coordinate descent of window k from the previous allocation.
func (h *Hindsight) choose(st *sim.Stepper, sched *schedule, k int, prev []int32, from, to time.Duration, price float64) []int32 {
	base := st.TallyAt(from)
	seen := map[string]float64{}
	best := math.Inf(1)
	// cost runs a trial minute by minute and gives up once it costs more than the best so far
	// (both terms only grow).
	cost := func(c []int32) float64 {
		key := fmt.Sprint(c)
		if v, ok := seen[key]; ok {
			return v
		}
		h.Runs++
		f := st.Fork(sched.with(k, c))
		v := 0.0
		for t := from; ; t += time.Minute {
			t = min(t, to)
			f.RunUntil(t)
			tl := f.TallyAt(t)
			v = tl.GPUSeconds - base.GPUSeconds + price*float64(tl.Missed+tl.Late-base.Missed-base.Late)
			if t == to || v >= best {
				break
			}
		}
		seen[key] = v
		return v
	}
	cur := slices.Clone(prev)
	best = cost(cur)
	for i, svc := range h.d.Services {
		for _, step := range []int32{1, -1} {
			moved := false
			for {
				n := cur[i] + step
				if n < int32(svc.MinReplicas) || n > int32(svc.MaxReplicas) {
					break
				}
				try := slices.Clone(cur)
				try[i] = n
				if h.o.BudgetGPUs > 0 && step > 0 && h.gpus(try) > h.o.BudgetGPUs {
					break
				}
				c := cost(try)
				if c >= best {
					break
				}
				best, cur, moved = c, try, true
			}
			if moved {
				break
			}
		}
	}
	return cur
}

// gpus is the GPUs an allocation uses.
func (h *Hindsight) gpus(c []int32) int {
	n := 0
	for i, s := range h.d.Services {
		n += int(c[i]) * s.GPUsPerReplica
	}
	return n
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// schedule is the autoscaler a hindsight run follows: window k's allocation, and a later window's
// if it needs more and its scale-up must start now (within a startup time of it).
type schedule struct {
	d     sim.Deployment
	win   float64
	epoch time.Time
	init  []int32
	alloc [][]int32 // per decided window, per service
}

// with returns a copy of the schedule with window k's allocation set to c.
func (s *schedule) with(k int, c []int32) *schedule {
	cp := *s
	cp.alloc = append(slices.Clone(s.alloc[:k]), c)
	return &cp
}

func (s *schedule) at(k, i int) int32 {
	switch {
	case len(s.alloc) == 0:
		return s.init[i]
	case k < len(s.alloc):
		return s.alloc[k][i]
	}
	return s.alloc[len(s.alloc)-1][i]
}

// Cadence implements sim.Autoscaler: every scrape, so scale-ups start on time.
func (s *schedule) Cadence() sim.Cadence {
	return sim.Cadence{Interval: 15 * time.Second, Window: 15 * time.Second}
}

// Scale implements sim.Autoscaler; it ignores the observations.
func (s *schedule) Scale(now time.Time, _ planner.Observations) map[string]int32 {
	t := now.Sub(s.epoch).Seconds()
	k := int(t / s.win)
	out := make(map[string]int32, len(s.d.Services))
	for i, svc := range s.d.Services {
		n := s.at(k, i)
		if ahead := int((t + svc.StartupTime.Seconds()) / s.win); ahead > k && ahead < len(s.alloc) {
			n = max(n, s.at(ahead, i))
		}
		out[svc.Name] = n
	}
	return out
}
