package main

import (
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/tidal-planner/tidal/planner/sim/synth"
)

// burstFlags are tidal simulate's flags for the bursts of the synthetic diurnal day: how many a
// day, how tall and how long. Unset (negative or zero) they keep the built-in scenario's (four a
// day, 1.6x for 10 minutes), so the built-in day and every run before these flags stay as they
// were.
type burstFlags struct {
	perDay float64
	factor float64
	length time.Duration
}

func (b *burstFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&b.perDay, "bursts", -1, "synthetic diurnal day: bursts per 24 hours, at random times (default: the built-in scenario's 4 per run; 0: none)")
	fs.Float64Var(&b.factor, "burst-factor", 0, "synthetic diurnal day: the rate multiplier during a burst (default: the built-in scenario's 1.6)")
	fs.DurationVar(&b.length, "burst-length", 0, "synthetic diurnal day: how long each burst lasts (default: the built-in scenario's 10m)")
}

// set reports whether any burst flag was given.
func (b burstFlags) set() bool { return b.perDay >= 0 || b.factor != 0 || b.length != 0 }

// check returns one error per bad burst flag, each naming it.
func (b burstFlags) check() []error {
	var errs []error
	if math.IsNaN(b.perDay) || math.IsInf(b.perDay, 0) || (b.perDay < 0 && b.perDay != -1) {
		errs = append(errs, fmt.Errorf("--bursts %v: want bursts per 24 hours >= 0 (0: none)", b.perDay))
	}
	if math.IsNaN(b.factor) || math.IsInf(b.factor, 0) || b.factor < 0 {
		errs = append(errs, fmt.Errorf("--burst-factor %v: want a rate multiplier > 0, e.g. 2", b.factor))
	}
	if b.length < 0 {
		errs = append(errs, fmt.Errorf("--burst-length %v: want a duration > 0, e.g. 5m", b.length))
	}
	return errs
}

// apply sets the spec's bursts from the flags: a count per 24 hours becomes the run's count,
// rounded to the nearest whole burst. The shape must be diurnal: the others have no bursts (the
// spike's one spike is its shape).
func (b burstFlags) apply(s *synth.Spec) error {
	if !b.set() {
		return nil
	}
	if s.Shape != synth.Diurnal {
		return fmt.Errorf("--bursts, --burst-factor and --burst-length shape the diurnal day's bursts, not --shape %s", s.Shape)
	}
	if b.perDay >= 0 {
		s.Bursts = int(math.Round(b.perDay * s.Duration.Hours() / 24))
	}
	if b.factor > 0 {
		s.BurstFactor = b.factor
	}
	if b.length > 0 {
		s.BurstLength = b.length
	}
	return nil
}

// describe names the bursts for the workload's name when the flags changed them ("" otherwise).
func (b burstFlags) describe(s synth.Spec) string {
	if !b.set() {
		return ""
	}
	if s.Bursts == 0 {
		return " without bursts"
	}
	return fmt.Sprintf(" with %d bursts of %gx for %v", s.Bursts, s.BurstFactor, s.BurstLength)
}
