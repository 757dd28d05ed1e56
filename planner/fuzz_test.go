package planner

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tidal-planner/tidal/policies"
)

// fuzzPolicies are the policies the invariants are fuzzed against: unbounded, and a GPU budget
// that fits every service's floor.
var fuzzPolicies = []string{disaggYAML, disaggYAML + "  budget: {maxGPUs: 7}\n"}

// fuzzObs turns fuzz inputs into observations; bit k of missing drops signal k.
func fuzzObs(now time.Time, rate, isl, osl, ttftP, itlP, queue float64, missing uint16, cur [3]int32, ready [3]int32) Observations {
	o := steady(now, rate, nil)
	o.InputTokens, o.OutputTokens = Known(isl), Known(osl)
	vals := []*Value{&o.RequestRate, &o.InputTokens, &o.OutputTokens, &o.TTFTPercentile, &o.ITLPercentile, &o.QueueDepth, &o.ArrivalCV}
	o.TTFTPercentile, o.ITLPercentile, o.QueueDepth = Known(ttftP), Known(itlP), Known(queue)
	for k, v := range vals {
		if missing&(1<<k) != 0 {
			*v = Unknown("fuzzed away")
		}
	}
	for i, name := range []string{"Frontend", "Prefill", "Decode"} {
		o.Services = append(o.Services, ServiceObservation{Name: name, Desired: cur[i], Ready: ready[i],
			ReplicasKnown: missing&(1<<(8+i)) == 0})
	}
	return o
}

// FuzzPlanInvariants checks, over random observation sequences: min <= replicas <= max; the budget
// is never exceeded; no scale-down below the current count when the request rate is missing; and
// Plan is deterministic given the same inputs (run twice on cloned states).
func FuzzPlanInvariants(f *testing.F) {
	f.Add(uint8(0), 40.0, 2000.0, 200.0, 0.2, 0.01, 0.0, uint16(0), int32(1), int32(3), int32(2), int32(2), uint8(3))
	f.Add(uint8(1), 400.0, 8000.0, 1000.0, 0.9, 0.05, 50.0, uint16(1), int32(4), int32(10), int32(10), int32(0), uint8(5))
	f.Add(uint8(0), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, uint16(0x7ff), int32(0), int32(-1), int32(99), int32(1), uint8(1))
	f.Add(uint8(1), math.Inf(1), math.NaN(), 1e300, math.Inf(1), -1.0, math.NaN(), uint16(0), int32(1), int32(1), int32(1), int32(0), uint8(2))
	// Found by the fuzzer: a negative current count under a budget let the floor clamp exceed it.
	f.Add(uint8(1), -80.0, 2000.0, 200.0, -512.0, -50.0, -297.0, uint16(2153), int32(4), int32(-1), int32(130), int32(1), uint8(7))
	f.Fuzz(func(t *testing.T, pi uint8, rate, isl, osl, ttftP, itlP, queue float64, missing uint16,
		fc, pc, dc, readyLag int32, steps uint8) {
		p := mustPolicy(t, fuzzPolicies[int(pi)%len(fuzzPolicies)])
		st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0.2)})
		cur := [3]int32{fc, pc, dc}
		for k := range int(steps%8) + 1 {
			now := t0.Add(time.Duration(k) * time.Minute)
			ready := [3]int32{max(cur[0]-readyLag, 0), max(cur[1]-readyLag, 0), max(cur[2]-readyLag, 0)}
			obs := fuzzObs(now, rate*float64(k+1)/2, isl, osl, ttftP, itlP, queue, missing, cur, ready)
			again := st.Clone()
			d := Plan(now, obs, p, &st)
			d2 := Plan(now, obs, p, &again)
			if diff := cmp.Diff(d, d2, cmpopts.EquateNaNs()); diff != "" {
				t.Fatalf("not deterministic (-first +second):\n%s", diff)
			}
			checkInvariants(t, p.Budget.MaxGPUs, obs, d, policyBounds(p))
			for i := range cur {
				cur[i] = d.Services[i].Desired
			}
		}
	})
}

type bounds struct{ min, max int32 }

func policyBounds(p policies.Policy) []bounds {
	out := make([]bounds, p.NumServices())
	for i := range out {
		out[i] = bounds{p.ServiceAt(i).MinReplicas, p.ServiceAt(i).MaxReplicas}
	}
	return out
}

func checkInvariants(t *testing.T, budget int32, obs Observations, d Decision, b []bounds) {
	t.Helper()
	for i, s := range d.Services {
		if s.Desired < b[i].min || s.Desired > b[i].max {
			t.Fatalf("%s: desired %d outside [%d, %d]", s.Name, s.Desired, b[i].min, b[i].max)
		}
		so, _ := obs.Service(s.Name)
		if !obs.RequestRate.OK && so.ReplicasKnown && budget == 0 && s.Desired < min(so.Desired, b[i].max) {
			t.Fatalf("%s: scaled down %d -> %d with the request rate missing", s.Name, so.Desired, s.Desired)
		}
	}
	if budget > 0 && d.GPUs > budget {
		t.Fatalf("decision uses %d GPUs over the budget of %d", d.GPUs, budget)
	}
}
