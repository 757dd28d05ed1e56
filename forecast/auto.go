package forecast

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// autoTop is how many of the best-ranked methods auto blends per horizon.
const autoTop = 3

// autoMargin is how much lower than last value's recent error a candidate's must be for auto to
// use it: at 10-minute resolution busy series are close to random walks and small, noisy wins
// of a complex method do not persist (docs/forecast.md).
const autoMargin = 0.05

// autoCandidates are the methods auto runs side by side.
func autoCandidates() []string {
	return []string{MethodLast, MethodSeasonalNaive, MethodLinear, MethodHoltWinters, MethodAR, MethodKalman}
}

// auto runs every candidate as its own predictor on the same input and, per horizon, blends the
// autoTop candidates with the lowest mean absolute log error over the last SelectWindow
// rolling-origin forecasts, weighted by inverse squared error. The ranking is recomputed after
// every point, so the choice follows the data; candidates refit on their own schedules.
type auto struct {
	o       Options
	subs    []*predictor
	weights [][]float64 // [horizon][candidate], recomputed in observe
	buf     []float64
	cands   []cand // scratch of rank
}

func newAuto(o Options) *auto {
	a := &auto{o: o, weights: make([][]float64, o.MaxHorizon)}
	for _, name := range autoCandidates() {
		a.subs = append(a.subs, newPredictor(name, &a.o, true))
	}
	for i := range a.weights {
		a.weights[i] = make([]float64, len(a.subs))
	}
	return a
}

func (a *auto) ready(h *history) bool   { return h.n() > 0 }
func (a *auto) waiting(*history) string { return "no points yet" }

// observe feeds the raw point to every candidate (each applies the same cleaning) and re-ranks.
func (a *auto) observe(_ *history, raw float64) {
	for _, s := range a.subs {
		s.Observe(raw)
	}
	for k := range a.weights {
		a.rank(k)
	}
}

func (a *auto) refit(*history) {}

// cand is a candidate's index and recent mean absolute error at one horizon.
type cand struct {
	i   int
	err float64
}

// rank sets the blend weights of horizon index k: inverse squared error over the autoTop best
// eligible candidates, last value alone until any has a track record.
func (a *auto) rank(k int) {
	clear(a.weights[k])
	cs := a.eligible(k)
	if len(cs) == 0 {
		a.weights[k][0] = 1
		return
	}
	slices.SortStableFunc(cs, func(x, y cand) int { return cmp.Compare(x.err, y.err) })
	cs = cs[:min(autoTop, len(cs))]
	total := 0.0
	for _, c := range cs {
		w := 1 / math.Max(c.err*c.err, 1e-12)
		a.weights[k][c.i] = w
		total += w
	}
	for _, c := range cs {
		a.weights[k][c.i] /= total
	}
}

// eligible lists the candidates with a track record at horizon index k whose recent error beats
// last value's by autoMargin (last value itself is always eligible).
func (a *auto) eligible(k int) []cand {
	bar := math.Inf(1)
	if last := a.subs[0]; last.bands.fixed.recent[k].len() >= minErrors {
		bar = (1 - autoMargin) * last.bands.fixed.recent[k].meanAbs()
	}
	cs := a.cands[:0]
	for i, s := range a.subs {
		r := &s.bands.fixed.recent[k]
		if s.usingBase || r.len() < min(a.o.SelectWindow, minErrors) {
			continue
		}
		if e := r.meanAbs(); i == 0 || e < bar {
			cs = append(cs, cand{i, e})
		}
	}
	a.cands = cs
	return cs
}

func (a *auto) predict(_ *history, out []float64) {
	H := a.o.MaxHorizon
	if len(out) > H {
		a.buf = slices.Grow(a.buf[:0], len(out))[:len(out)]
	}
	clear(out)
	for i, s := range a.subs {
		fc := s.cur
		if len(out) > H {
			s.points(a.buf)
			fc = a.buf
		}
		for k := range out {
			if w := a.weights[min(k, H-1)][i]; w > 0 {
				out[k] += w * fc[k]
			}
		}
	}
}

func (a *auto) clone() model {
	c := &auto{o: a.o, weights: make([][]float64, len(a.weights))}
	for _, s := range a.subs {
		c.subs = append(c.subs, s.Clone().(*predictor))
	}
	for i := range a.weights {
		c.weights[i] = slices.Clone(a.weights[i])
	}
	return c
}

// describe names the blend at horizon 1 and at MaxHorizon.
func (a *auto) describe() string {
	return fmt.Sprintf("h=1: %s; h=%d: %s", a.blend(0), a.o.MaxHorizon, a.blend(a.o.MaxHorizon-1))
}

func (a *auto) blend(k int) string {
	var parts []string
	for i, w := range a.weights[k] {
		if w > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f", a.subs[i].method, w))
		}
	}
	return strings.Join(parts, " + ")
}
