package scenario

import (
	_ "embed" // the default profile and policy are embedded
	"fmt"
	"time"

	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/planner/sim/synth"
	"github.com/tidal-planner/tidal/policies"
)

var (
	//go:embed h200-llama-3.1-8b/prefill_raw_data.json
	prefillJSON []byte
	//go:embed h200-llama-3.1-8b/decode_raw_data.json
	decodeJSON []byte
	//go:embed default-policy.yaml
	policyYAML []byte
)

// ProfileName names the embedded profile in output.
const ProfileName = "embedded: Dynamo profile, Llama-3.1-8B-Instruct-FP8 on H200, TP1 prefill + TP1 decode"

// PolicyName names the embedded policy's source in output.
const PolicyName = "embedded:default-policy.yaml"

// Profile returns the embedded H200 Llama-3.1-8B profile.
func Profile() (profile.Profile, error) {
	ps, err := profile.ParseJSON(prefillJSON, decodeJSON)
	if err != nil {
		return profile.Profile{}, fmt.Errorf("parsing the embedded profile: %w", err)
	}
	p := ps[0]
	p.Source = ProfileName
	return p, nil
}

// Policy returns the embedded default policy.
func Policy() (policies.Policy, error) {
	p, err := policies.Parse(policyYAML, PolicyName)
	if err != nil {
		return policies.Policy{}, fmt.Errorf("parsing the embedded policy: %w", err)
	}
	return p, nil
}

// PolicyYAML returns the embedded default policy's text.
func PolicyYAML() []byte { return append([]byte(nil), policyYAML...) }

// Day is the built-in workload: one day of a diurnal cycle (mean 15 requests/s, 0.4x at 05:00 to
// 1.6x at 17:00) with four 10-minute bursts at 1.6x, and prompts and answers drawn log-normally
// around the profile's reference lengths (ISL 3000, OSL 150).
func Day(seed uint64) synth.Spec {
	return synth.Spec{
		Shape: synth.Diurnal, Duration: 24 * time.Hour, Rate: 15, Amplitude: 0.6,
		Bursts: 4, BurstFactor: 1.6, BurstLength: 10 * time.Minute, Seed: seed,
		Tokens: DefaultTokens(),
	}
}

// DefaultTokens draws input lengths around 3000 tokens and output lengths around 150 (the
// profile's reference point), log-normal with sigma 0.5, capped so every request fits the 16k
// context.
func DefaultTokens() synth.LogNormal {
	return synth.LogNormal{InputMean: 3000, OutputMean: 150, InputSigma: 0.5, OutputSigma: 0.5,
		MaxInput: 14000, MaxOutput: 2000}
}
