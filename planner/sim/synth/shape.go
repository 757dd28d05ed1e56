package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tidal-planner/tidal/planner/sim"
)

// Shape is a synthetic load shape.
type Shape string

// Shapes Synthetic understands.
const (
	// Diurnal is a daily sinusoid: trough at Spec.Trough, peak twelve hours later.
	Diurnal Shape = "diurnal"
	// Step holds the base rate, then Factor x base from the middle of the span on.
	Step Shape = "step"
	// Spike holds the base rate with one Factor x base spike of BurstLength at the middle.
	Spike Shape = "spike"
	// Ramp climbs linearly from 0.2 x base to 1.8 x base over the span.
	Ramp Shape = "ramp"
)

// Shapes lists the shapes in a stable order.
func Shapes() []Shape { return []Shape{Diurnal, Step, Spike, Ramp} }

// Spec describes a synthetic workload. Zero fields take the defaults noted.
type Spec struct {
	Shape    Shape
	Duration time.Duration // 24 h
	// Rate is the base (for diurnal: the mean) arrival rate, requests/s.
	Rate float64
	// Amplitude is the diurnal swing relative to the mean (0.6: 0.4x..1.6x).
	Amplitude float64
	// Period is the diurnal period (24 h); Trough is when the load is lowest (05:00).
	Period, Trough time.Duration
	// Factor is the step or spike multiplier (3).
	Factor float64
	// Bursts adds this many short bursts at random times, each multiplying the rate by
	// BurstFactor (3) for BurstLength (5 min). Spike uses BurstLength for its one spike.
	Bursts      int
	BurstFactor float64
	BurstLength time.Duration
	Seed        uint64
	Tokens      TokenSource
}

func (s Spec) withDefaults() Spec {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defD(&s.Duration, 24*time.Hour)
	defD(&s.Period, 24*time.Hour)
	defD(&s.Trough, 5*time.Hour)
	defD(&s.BurstLength, 5*time.Minute)
	def(&s.Amplitude, 0.6)
	def(&s.Factor, 3)
	def(&s.BurstFactor, 3)
	return s
}

// rateFn is the workload's instantaneous arrival rate at t seconds.
type rateFn struct {
	s      Spec
	bursts []float64 // burst start times, s
}

func (f rateFn) at(t float64) float64 {
	s := f.s
	base := s.Rate
	dur := s.Duration.Seconds()
	var r float64
	switch s.Shape {
	case Diurnal:
		r = base * (1 - s.Amplitude*math.Cos(2*math.Pi*(t-s.Trough.Seconds())/s.Period.Seconds()))
	case Step:
		r = base
		if t >= dur/2 {
			r = base * s.Factor
		}
	case Spike:
		r = base
		if t >= dur/2 && t < dur/2+s.BurstLength.Seconds() {
			r = base * s.Factor
		}
	case Ramp:
		r = base * (0.2 + 1.6*t/dur)
	}
	for _, b := range f.bursts {
		if t >= b && t < b+s.BurstLength.Seconds() {
			r *= s.BurstFactor
		}
	}
	return max(r, 0)
}

// boundOn bounds the rate from above on [a, b).
func (f rateFn) boundOn(a, b float64) float64 {
	pts := []float64{a, (a + b) / 2, math.Nextafter(b, a)}
	for _, x := range f.bursts {
		for _, e := range []float64{x, x + f.s.BurstLength.Seconds()} {
			if e > a && e < b {
				pts = append(pts, e, math.Nextafter(e, a))
			}
		}
	}
	if f.s.Shape == Spike || f.s.Shape == Step {
		mid := f.s.Duration.Seconds() / 2
		pts = append(pts, mid, mid+f.s.BurstLength.Seconds())
	}
	m := 0.0
	for _, x := range pts {
		if x >= a && x < b {
			m = max(m, f.at(x))
		}
	}
	return m * 1.01
}

// Synthetic draws a workload from spec: a non-homogeneous Poisson process by thinning (Lewis and
// Shedler, 1979), one minute at a time, with token lengths from spec.Tokens.
func Synthetic(spec Spec) (sim.Workload, error) {
	s := spec.withDefaults()
	if err := s.validate(); err != nil {
		return sim.Workload{}, fmt.Errorf("synthesising a %q workload: %w", s.Shape, err)
	}
	r := rand.New(rand.NewPCG(s.Seed, 0x7469_6461_6c))
	f := rateFn{s: s}
	dur := s.Duration.Seconds()
	for range s.Bursts {
		f.bursts = append(f.bursts, r.Float64()*(dur-s.BurstLength.Seconds()))
	}
	wl := sim.Workload{Name: fmt.Sprintf("synthetic-%s", s.Shape), Duration: s.Duration}
	wl.Requests = make([]sim.Request, 0, int(s.Rate*dur*1.05))
	// Thin per one-minute segment against the segment's own bound: far fewer rejected candidates
	// than one global peak. The bound is the rate at the segment's ends, middle and any burst
	// edge inside it (every shape is monotone between those points), plus 1%.
	const seg = 60.0
	for a := 0.0; a < dur; a += seg {
		b := min(a+seg, dur)
		bound := f.boundOn(a, b)
		if bound <= 0 {
			continue
		}
		for t := a + r.ExpFloat64()/bound; t < b; t += r.ExpFloat64() / bound {
			if r.Float64()*bound > f.at(t) {
				continue
			}
			in, out := s.Tokens.Draw(r)
			wl.Requests = append(wl.Requests, sim.Request{Arrival: time.Duration(t * float64(time.Second)),
				InputTokens: in, OutputTokens: out})
		}
	}
	return wl, nil
}

func (s Spec) validate() error {
	switch {
	case s.Shape != Diurnal && s.Shape != Step && s.Shape != Spike && s.Shape != Ramp:
		return fmt.Errorf("unknown shape %q (want one of %v)", s.Shape, Shapes())
	case !(s.Rate > 0) || math.IsInf(s.Rate, 0):
		return fmt.Errorf("rate %v is not a positive number", s.Rate)
	case s.Amplitude < 0 || s.Amplitude > 1:
		return fmt.Errorf("amplitude %v is outside [0, 1]", s.Amplitude)
	case s.Factor <= 0 || s.BurstFactor <= 0 || s.Bursts < 0:
		return fmt.Errorf("factors must be positive and bursts >= 0 (factor %v, burst factor %v, bursts %d)",
			s.Factor, s.BurstFactor, s.Bursts)
	case s.Duration <= s.BurstLength:
		return fmt.Errorf("duration %v must exceed the burst length %v", s.Duration, s.BurstLength)
	case s.Tokens == nil:
		return fmt.Errorf("no token source")
	}
	return nil
}
