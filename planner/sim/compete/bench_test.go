package compete

import (
	"testing"
	"time"

	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/sim/scenario"
	"github.com/tidal-planner/tidal/planner/sim/synth"
)

// defaultSetup is the built-in scenario of tidal simulate, as the command builds it.
func defaultSetup(b testing.TB) Setup {
	b.Helper()
	pol, err := scenario.Policy()
	if err != nil {
		b.Fatal(err)
	}
	prof, err := scenario.Profile()
	if err != nil {
		b.Fatal(err)
	}
	d, err := sim.DeploymentFromPolicy(pol, sim.NewModel(prof))
	if err != nil {
		b.Fatal(err)
	}
	wl, err := synth.Synthetic(scenario.Day(1))
	if err != nil {
		b.Fatal(err)
	}
	return Setup{Deployment: d, Workload: wl, Policy: pol, Profile: prof,
		History: synth.SyntheticHistory(scenario.Day(1), pol.Planning.Forecast.History, pol.Planning.Interval),
		Options: sim.Options{Epoch: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)}}
}

// BenchmarkDefaultScenario runs the whole default comparison (tidal, hindsight, static search,
// tuned hpa, dynamo, dynamo-fpm) one planner after another: the time of `tidal simulate` on one
// core, less the workload synthesis. Target (issue 10): under 60 s.
func BenchmarkDefaultScenario(b *testing.B) {
	s := defaultSetup(b)
	names, err := ParseNames(DefaultCompare)
	if err != nil {
		b.Fatal(err)
	}
	cs, err := Contenders(s, names)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		for _, c := range cs {
			if _, err := c.Run(nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDay simulates the built-in day once under the oracle and reports simulated requests
// per second of wall time.
func BenchmarkDay(b *testing.B) {
	s := defaultSetup(b)
	d := WithInitial(s.Deployment, NewOracle(s.Deployment, s.Workload, OracleOptions{Epoch: s.Options.Epoch}).At(0))
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		if _, err := sim.Run(d, s.Workload, NewOracle(d, s.Workload, OracleOptions{Epoch: s.Options.Epoch}), s.Options); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*len(s.Workload.Requests))/time.Since(start).Seconds(), "sim-req/s")
}

// BenchmarkSyntheticDay is the workload synthesis of the built-in scenario.
func BenchmarkSyntheticDay(b *testing.B) {
	for b.Loop() {
		if _, err := synth.Synthetic(scenario.Day(1)); err != nil {
			b.Fatal(err)
		}
	}
}
