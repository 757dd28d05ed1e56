package synth

import (
	"errors"
	"math"
	"math/rand/v2"

	"github.com/tidal-planner/tidal/planner/sim"
)

// TokenSource draws the input and output lengths of one request.
type TokenSource interface {
	Draw(r *rand.Rand) (input, output int)
}

// LogNormal draws lengths from log-normal distributions with the given means (tokens) and
// log-space standard deviation, clamped to [1, Max] (Max 0 = unbounded).
type LogNormal struct {
	InputMean, OutputMean   float64
	InputSigma, OutputSigma float64
	MaxInput, MaxOutput     int
}

// Draw implements TokenSource.
func (l LogNormal) Draw(r *rand.Rand) (int, int) {
	return lognormal(r, l.InputMean, l.InputSigma, l.MaxInput), lognormal(r, l.OutputMean, l.OutputSigma, l.MaxOutput)
}

// lognormal draws from a log-normal with the given mean and log-space sigma.
func lognormal(r *rand.Rand, mean, sigma float64, hi int) int {
	mu := math.Log(mean) - sigma*sigma/2
	v := int(math.Round(math.Exp(mu + sigma*r.NormFloat64())))
	if hi > 0 {
		v = min(v, hi)
	}
	return max(v, 1)
}

// Sampled draws (input, output) pairs uniformly, with replacement, from a per-request trace, so
// the joint distribution of the two lengths is kept.
type Sampled struct {
	pairs [][2]int
}

// NewSampled keeps the token lengths of reqs; it fails on an empty trace.
func NewSampled(reqs []sim.Request) (*Sampled, error) {
	if len(reqs) == 0 {
		return nil, errors.New("sampling token lengths: the trace has no requests")
	}
	s := &Sampled{pairs: make([][2]int, len(reqs))}
	for i, q := range reqs {
		s.pairs[i] = [2]int{max(q.InputTokens, 1), max(q.OutputTokens, 1)}
	}
	return s, nil
}

// Draw implements TokenSource.
func (s *Sampled) Draw(r *rand.Rand) (int, int) {
	p := s.pairs[r.IntN(len(s.pairs))]
	return p[0], p[1]
}
