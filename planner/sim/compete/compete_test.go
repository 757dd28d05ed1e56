package compete

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/sim/scenario"
	"github.com/tidal-planner/tidal/policies"
)

// embeddedProfile is the simulator's embedded H200 profile: tests never need ../shared.
func embeddedProfile(t testing.TB) profile.Profile {
	t.Helper()
	p, err := scenario.Profile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func deployment(t testing.TB) sim.Deployment {
	t.Helper()
	return sim.Deployment{
		Model: sim.NewModel(embeddedProfile(t)), TTFT: 300 * time.Millisecond, ITL: 25 * time.Millisecond,
		TTFTPercentile: 90, ITLPercentile: 90, PrefillTokenBudget: sim.DefaultPrefillTokenBudget,
		MaxBatch: sim.DefaultMaxBatch, MaxContext: sim.DefaultMaxContext,
		Services: []sim.Service{
			{Name: "P", Role: policies.RolePrefill, GPUsPerReplica: 1, StartupTime: 2 * time.Minute, MinReplicas: 1, MaxReplicas: 12, Initial: 1},
			{Name: "D", Role: policies.RoleDecode, GPUsPerReplica: 2, StartupTime: 2 * time.Minute, MinReplicas: 1, MaxReplicas: 12, Initial: 1},
		},
	}
}

func obsOf(rate, isl, osl, queue float64, services ...planner.ServiceObservation) planner.Observations {
	return planner.Observations{RequestRate: planner.Known(rate), InputTokens: planner.Known(isl),
		OutputTokens: planner.Known(osl), QueueDepth: planner.Known(queue), Services: services}
}

func TestOracleProvisionsAheadOfLoad(t *testing.T) {
	d := deployment(t)
	// 1 req/s for 20 minutes, 30 req/s from minute 10 to 12.
	wl := sim.Workload{Name: "step", Duration: 20 * time.Minute}
	for ms := 0; ms < 20*60*1000; ms += 1000 {
		wl.Requests = append(wl.Requests, sim.Request{Arrival: time.Duration(ms) * time.Millisecond, InputTokens: 3000, OutputTokens: 150})
	}
	for ms := 10 * 60 * 1000; ms < 12*60*1000; ms += 34 {
		wl.Requests = append(wl.Requests, sim.Request{Arrival: time.Duration(ms) * time.Millisecond, InputTokens: 3000, OutputTokens: 150})
	}
	sortRequests(wl.Requests)
	o := NewOracle(d, wl, OracleOptions{})
	quiet, ahead, during, after := o.At(0), o.At(8*60), o.At(11*60), o.At(15*60)
	if quiet["P"] != 1 || after["P"] != 1 {
		t.Errorf("quiet periods: %v and %v, want one prefill replica", quiet, after)
	}
	if ahead["P"] < 2 || ahead["P"] != during["P"] {
		t.Errorf("a startup time before the burst the oracle asks %v, during it %v: want the burst's need in both", ahead, during)
	}
}

func sortRequests(rs []sim.Request) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Arrival < rs[j-1].Arrival; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

func TestSearchFindsTheSmallestStaticAllocation(t *testing.T) {
	d := deployment(t)
	wl := sim.Workload{Name: "steady", Duration: 10 * time.Minute}
	for ms := 0; ms < 10*60*1000; ms += 100 { // 10 req/s x 3000 tokens: ~30k tokens/s of prefill
		wl.Requests = append(wl.Requests, sim.Request{Arrival: time.Duration(ms) * time.Millisecond, InputTokens: 3000, OutputTokens: 100})
	}
	sr, err := Search(d, wl, 0.99, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sr.Result.Attainment < 0.99 {
		t.Fatalf("found %v with attainment %.4f < 0.99", sr.Replicas, sr.Result.Attainment)
	}
	for _, svc := range d.Services {
		if sr.Replicas[svc.Name] == int32(svc.MinReplicas) {
			continue
		}
		fewer := map[string]int32{}
		for k, v := range sr.Replicas {
			fewer[k] = v
		}
		fewer[svc.Name]--
		r, err := sim.Run(WithInitial(d, fewer), wl, Static{Replicas: fewer}, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Attainment >= 0.99 {
			t.Errorf("%v also reaches %.4f: %v is not the smallest", fewer, r.Attainment, sr.Replicas)
		}
	}
}

func TestParseNames(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"default", []string{"tidal", "hindsight", "static", "hpa", "dynamo", "dynamo-fpm"}, false},
		{"oracle, dynamo,oracle", []string{"tidal", "dynamo", "oracle"}, false},
		{"", []string{"tidal"}, false},
		{"reactive,hpa", []string{"tidal", "hpa"}, false},
		{"keda", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			in := tt.in
			if in == "default" {
				in = DefaultCompare
			}
			got, err := ParseNames(in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestRivalGoalIsThePolicysObjective(t *testing.T) {
	withObjective := func(o float64) policies.Policy {
		var p policies.Policy
		p.SLO.Objective = o
		return p
	}
	tests := []struct {
		name string
		s    Setup
		want float64
	}{
		{"the policy's objective", Setup{Policy: withObjective(0.95)}, 0.95},
		{"a stricter objective", Setup{Policy: withObjective(0.999)}, 0.999},
		{"an explicit goal wins", Setup{Policy: withObjective(0.95), StaticGoal: 0.97}, 0.97},
		{"no objective: the default", Setup{}, 0.99},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rivalGoal(tt.s); got != tt.want {
				t.Errorf("rivalGoal = %v, want %v", got, tt.want)
			}
		})
	}
}
