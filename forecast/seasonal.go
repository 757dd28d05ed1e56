package forecast

import "slices"

// seasonalDays is how many recent seasons the additive seasonal profile averages.
const seasonalDays = 7

// shrinkHorizon is the step of the changes the profile's shrink factor is fitted on.
const shrinkHorizon = 6

// seasonal is an additive seasonal profile: per phase (absolute step % period), the mean
// deviation of the newest seasons from their overall mean. It is estimated only from two full
// seasons on; otherwise it is zero (no seasonal adjustment).
type seasonal struct {
	period  int
	profile []float64 // by phase; nil when off
	beta    float64   // shrink factor applied to the profile at the last fit
}

// fit re-estimates the profile from the newest seasonalDays seasons of h. The profile is built
// from step-to-step changes: per phase, the median over days of the change into the next phase,
// with the mean change removed so a season closes, then summed and centred. Medians of changes
// ignore the one-off jumps of level shifts that would bias a mean of levels.
func (s *seasonal) fit(h *history) {
	P := s.period
	vals, miss, base := h.view()
	if P < 2 || len(vals) < 2*P {
		s.profile = nil
		return
	}
	from := max(len(vals)-seasonalDays*P, 1)
	// One allocation: the per-phase changes (at most `days` per phase) laid out phase after
	// phase, their counts and the per-phase medians (a refit used to allocate a slice per phase).
	days := (len(vals)-from)/P + 1
	buf := make([]float64, P*days+2*P)
	counts, steps, byPhase := buf[:P], buf[P:2*P], buf[2*P:]
	for i := from; i < len(vals); i++ {
		if !miss.at(i) && !miss.at(i-1) {
			ph := (base + i) % P
			byPhase[ph*days+int(counts[ph])] = vals[i] - vals[i-1]
			counts[ph]++
		}
	}
	for ph := range P {
		if n := int(counts[ph]); n > 0 {
			d := byPhase[ph*days : ph*days+n]
			slices.Sort(d)
			steps[ph] = quantile(d, 0.5)
		}
	}
	drift := mean(steps)
	if len(s.profile) != P {
		s.profile = make([]float64, P)
	}
	s.profile[0] = 0
	level := 0.0
	for k := 1; k < P; k++ { // walk the phases from phase 0
		level += steps[k] - drift
		s.profile[k] = level
	}
	centre := mean(s.profile)
	for ph := range s.profile {
		s.profile[ph] -= centre
	}
	s.shrink(vals, miss, base, from)
}

// shrink scales the profile by the least-squares slope (clamped to [0, 1]) of the series' h-step
// changes on the profile's h-step changes over the same days, h = shrinkHorizon: a profile that
// explains little of how the series actually moves is damped toward none.
func (s *seasonal) shrink(vals []float64, miss flags, base, from int) {
	const h = shrinkHorizon
	sxy, sxx := 0.0, 0.0
	for i := max(from, h); i < len(vals); i++ {
		if miss.at(i) || miss.at(i-h) {
			continue
		}
		dx := s.profile[(base+i)%s.period] - s.profile[(base+i-h)%s.period]
		sxy += dx * (vals[i] - vals[i-h])
		sxx += dx * dx
	}
	beta := 0.0
	if sxx > 0 {
		beta = min(max(sxy/sxx, 0), 1)
	}
	s.beta = beta
	for ph := range s.profile {
		s.profile[ph] *= beta
	}
}

// at is the seasonal component at absolute step t (0 when off).
func (s *seasonal) at(t int) float64 {
	if s.profile == nil {
		return 0
	}
	return s.profile[t%s.period]
}

func (s *seasonal) on() bool { return s.profile != nil }

func (s seasonal) clone() seasonal {
	s.profile = append([]float64(nil), s.profile...)
	if len(s.profile) == 0 {
		s.profile = nil
	}
	return s
}
