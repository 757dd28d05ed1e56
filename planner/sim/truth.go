package sim

import (
	"fmt"

	"github.com/tidal-planner/tidal/planner/profile"
)

// Truth is how the simulated world's engines differ from the profile the planners read: the world
// is not the planners' model. The zero value is the exact world (the engines run the planners'
// profile as profiled).
type Truth struct {
	// Profile, when set, is the profile the engines run on instead of the planners' one (the
	// planners keep reading theirs).
	Profile *profile.Profile
	// PrefillSpeed and DecodeSpeed are the engines' speeds relative to that profile: 0 or 1 as
	// profiled, 0.8 20% slower (each prefill pass or decode iteration takes 1/0.8 as long), 1.2
	// 20% faster. Negative, NaN or infinite speeds are errors.
	PrefillSpeed, DecodeSpeed float64
}

// Exact reports whether the world runs exactly the planners' profile.
func (t Truth) Exact() bool {
	return t.Profile == nil && (t.PrefillSpeed == 0 || t.PrefillSpeed == 1) && (t.DecodeSpeed == 0 || t.DecodeSpeed == 1)
}

// Model builds the engines' model: the truth's profile (else the planners'), at the truth's
// speeds.
func (t Truth) Model(planners profile.Profile) (*Model, error) {
	p := planners
	if t.Profile != nil {
		p = *t.Profile
	}
	pre, dec := t.PrefillSpeed, t.DecodeSpeed
	if pre == 0 {
		pre = 1
	}
	if dec == 0 {
		dec = 1
	}
	m, err := NewModel(p).WithSpeeds(pre, dec)
	if err != nil {
		return nil, fmt.Errorf("the simulated world: %w", err)
	}
	return m, nil
}
