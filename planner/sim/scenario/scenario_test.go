package scenario

import (
	"testing"

	"github.com/tidal-planner/tidal/planner/sim/synth"
	"github.com/tidal-planner/tidal/policies"
)

func TestEmbeddedScenarioLoads(t *testing.T) {
	p, err := Policy()
	if err != nil {
		t.Fatal(err)
	}
	if p.Target.Topology != policies.TopologyDisaggregated || p.NumServices() != 2 {
		t.Errorf("policy %q: topology %q with %d services, want disaggregated with prefill and decode", p.Name, p.Target.Topology, p.NumServices())
	}
	prof, err := Profile()
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := prof.Prefill.ISLRange(); lo != 100 || hi != 16372 || prof.Decode.MaxKVTokens() != 945029 {
		t.Errorf("profile ISL range [%v, %v], KV capacity %v: not the H200 Llama-3.1-8B profile", lo, hi, prof.Decode.MaxKVTokens())
	}
	wl, err := synth.Synthetic(Day(1))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(wl.Requests); n < 1_000_000 || n > 1_600_000 {
		t.Errorf("the built-in day has %d requests, want about 15/s x 86400", n)
	}
	for _, r := range wl.Requests {
		if r.InputTokens+r.OutputTokens > 16384 {
			t.Fatalf("request %+v exceeds the 16k context", r)
		}
	}
}
