package main

import (
	"flag"
	"fmt"
	"math"

	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/sim/scenario"
	"github.com/tidal-planner/tidal/policies"
)

// worldFlags are tidal simulate's flags for a world that is not the planners' model, and for
// compressing a trace's time.
type worldFlags struct {
	profile                   string
	prefillSpeed, decodeSpeed float64
	speedup                   float64
}

func (w *worldFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&w.profile, "world-profile", "", "Dynamo profile `DIR` the simulated engines run on (default: the profile the planners read, see --profile)")
	fs.Float64Var(&w.prefillSpeed, "world-prefill-speed", 1, "speed of the simulated engines' prefill relative to their profile: 0.8 = 20% slower, 1.2 = 20% faster (the planners still read the profile)")
	fs.Float64Var(&w.decodeSpeed, "world-decode-speed", 1, "speed of the simulated engines' decode iterations relative to their profile (as --world-prefill-speed)")
	fs.Float64Var(&w.speedup, "speedup", 1, "compress a request trace's time by this factor (changes the control problem: startup times cover more of the trace; labelled in the output). To scale the load, use --rate-scale")
}

// truth builds the simulated engines' model: the planners' profile, or --world-profile, at the
// --world-*-speed speeds. Bad values are errors naming the flag.
func (w worldFlags) truth(planners profile.Profile) (*sim.Model, error) {
	for _, v := range []struct {
		flag string
		x    float64
	}{{"--world-prefill-speed", w.prefillSpeed}, {"--world-decode-speed", w.decodeSpeed}, {"--speedup", w.speedup}} {
		if !(v.x > 0) || math.IsInf(v.x, 0) {
			return nil, fmt.Errorf("%s %v: want a positive number (1 = unchanged)", v.flag, v.x)
		}
	}
	t := sim.Truth{PrefillSpeed: w.prefillSpeed, DecodeSpeed: w.decodeSpeed}
	if w.profile != "" {
		p, err := loadProfileDir(w.profile, planners.Config.GPUs)
		if err != nil {
			return nil, fmt.Errorf("--world-profile: %w", err)
		}
		t.Profile = &p
	}
	return t.Model(planners)
}

// describeWorld names the profile the planners read and, when it differs, the world's truth.
func describeWorld(planners profile.Profile, truth *sim.Model) string {
	if truth.String() == planners.Source {
		return planners.Source
	}
	return planners.Source + "; the simulated engines run " + truth.String()
}

// loadSimProfile returns the profile the planners read: --profile, else the policy's
// performanceModel.profile (an error naming it when it does not load: never a silent fallback),
// else the embedded profile.
func loadSimProfile(dir string, pol policies.Policy) (profile.Profile, error) {
	switch {
	case dir != "":
		return loadProfileDir(dir, policyEngineGPUs(pol))
	case pol.PerformanceModel.Profile != "":
		p, err := loadProfileDir(pol.PerformanceModel.Profile, policyEngineGPUs(pol))
		if err != nil {
			return profile.Profile{}, fmt.Errorf("policy %q: spec.performanceModel.profile %q cannot be read by the simulator (fix the path, or pass --profile DIR): %w",
				pol.Name, pol.PerformanceModel.Profile, err)
		}
		return p, nil
	}
	return scenario.Profile()
}

// policyEngineGPUs is the GPUs per replica of the policy's first GPU service that states it (0
// if none does): it picks the configuration of a profile directory holding several.
func policyEngineGPUs(pol policies.Policy) int {
	for _, s := range pol.Services() {
		if s.Role != policies.RoleFrontend && s.GPUsPerReplica > 0 {
			return int(s.GPUsPerReplica)
		}
	}
	return 0
}

// loadProfileDir loads a Dynamo profiler directory's configuration: the only one, or the one
// whose engine uses gpus GPUs when it holds several.
func loadProfileDir(dir string, gpus int) (profile.Profile, error) {
	ps, err := profile.Load(dir)
	if err != nil {
		return profile.Profile{}, err
	}
	if len(ps) == 1 {
		gpus = 0
	}
	p, err := profile.Match(ps, gpus)
	if err != nil {
		return profile.Profile{}, fmt.Errorf("choosing a profile in %s: %w", dir, err)
	}
	return p, nil
}
