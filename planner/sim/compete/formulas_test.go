package compete

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/planner/sim"
)

// handProfile is a small made-up profile whose interpolations are easy to work by hand:
// prefill TTFT 100 ms at 1,000 tokens to 400 ms at 4,000 at 10,000 tokens/s/GPU (one GPU);
// decode rows at contexts 1,000 and 3,000 with KV usage 0.2/0.6/1.0, ITL 10/20/30 and 12/24/36 ms,
// throughput 1000/2000/3000 and 900/1800/2700 tokens/s/GPU, 100,000 KV tokens.
func handProfile(t testing.TB) profile.Profile {
	t.Helper()
	pre, err := profile.NewPrefill([]float64{1000, 4000}, []float64{100, 400}, []float64{10000, 10000})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := profile.NewDecode(
		[]float64{0.2, 0.6, 1.0, 0.2, 0.6, 1.0},
		[]float64{1000, 1000, 1000, 3000, 3000, 3000},
		[]float64{10, 20, 30, 12, 24, 36},
		[]float64{1000, 2000, 3000, 900, 1800, 2700}, 100000)
	if err != nil {
		t.Fatal(err)
	}
	return profile.Profile{Config: profile.Config{GPUs: 1}, Prefill: pre, Decode: dec}
}

func handDeployment(t testing.TB) sim.Deployment {
	d := deployment(t)
	d.Model = sim.NewModel(handProfile(t))
	return d
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-3*math.Max(1, math.Abs(b)) }

// TestDynamoSizing pins Dynamo's SLA planner formulas on the hand profile, at rate 60 req/s
// (10,800 requests per 180 s), ISL 2,000, OSL 200, observed TTFT 100 ms and ITL 20 ms, 2 decode
// workers ready, ITL target 25 ms. Context 2,100 blends the decode rows with weight 0.55.
//
//   - prefill: p_corr = 100 / TTFT(2000) = 100/200 = 0.5; GPUs = 60 x 2000 x min(1, 0.5) / 10000 = 6.
//     Without correction: 60 x 2000 / 10000 = 12.
//   - decode, no correction: ITL(kv, 2100) = 22.2 + (kv - 0.6)/0.4 x 11.1 <= 25 up to kv 0.7009;
//     the grid's last usage under it is 69/99; throughput there = 2242.42 + 0.55 x (2018.18 -
//     2242.42) = 2119.09; GPUs = 60 x 200 / 2119.09 = 5.6628.
//   - decode, corrected: duration = 0.1 + 0.02 x 199 = 4.08 s; conc = 10800 / 2 x 4.08 / 180 = 122.4;
//     kv = 122.4 x 2100 / 100000 > 1, clamped: profiled ITL 33.3 ms; d_corr = 20/33.3; corrected
//     target 41.6 ms admits kv = 1: throughput 2835; GPUs = 12000 / 2835 = 4.2328.
func TestDynamoSizing(t *testing.T) {
	d := handDeployment(t)
	prof := handProfile(t)
	obs := obsOf(60, 2000, 200, 0, planner.ServiceObservation{Name: "D", Desired: 2, Ready: 2, ReplicasKnown: true})
	obs.TTFT, obs.ITL = planner.Known(0.1), planner.Known(0.02)
	tests := []struct {
		name         string
		noCorrection bool
		pre, dec     float64
		want         map[string]int32
	}{
		{"correction factors on (default)", false, 6, 12000.0 / 2835, map[string]int32{"P": 6, "D": 3}},
		{"correction factors off", true, 12, 12000 / 2119.0909, map[string]int32{"P": 12, "D": 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dy := NewDynamo(d, prof, 0, planner.LoadHistory{}, time.Minute)
			dy.NoCorrection = tt.noCorrection
			got := dy.Scale(time.Time{}, obs)
			pre, dec := dy.needs(10800, 2000, 200)
			if !near(pre, tt.pre) || !near(dec, tt.dec) {
				t.Errorf("needs = %.4f prefill, %.4f decode GPUs; want %.4f, %.4f", pre, dec, tt.pre, tt.dec)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Scale (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDynamoHoldsAndBudgets(t *testing.T) {
	d := handDeployment(t)
	obs := obsOf(60, 2000, 200, 0)
	if got := NewDynamo(d, handProfile(t), 0, planner.LoadHistory{}, time.Minute).Scale(time.Time{}, obs); got != nil {
		t.Errorf("without TTFT and ITL Dynamo skips the adjustment; got %v", got)
	}
	// Over an 8-GPU budget: 12 prefill (1 GPU) + 3 decode (2 GPUs) = 18; scale 8/18: prefill
	// max(1, min(floor((8 - 2) / 1) = 6, floor(12 x 0.444) = 5)) = 5, decode floor((8 - 5) / 2) = 1.
	p, q := dynamoBudget(12, 3, 1, 2, 8)
	if p != 5 || q != 1 {
		t.Errorf("dynamoBudget(12, 3, 1, 2, 8) = %d, %d; want 5, 1", p, q)
	}
}

func TestARIMAPredictor(t *testing.T) {
	feed := func(xs ...float64) *arimaPredictor {
		var a arimaPredictor
		for _, x := range xs {
			a.add(x)
		}
		return &a
	}
	trend := make([]float64, 30)
	for i := range trend {
		trend[i] = float64(100 + 10*i)
	}
	tests := []struct {
		name     string
		a        *arimaPredictor
		want     float64
		tolerant bool
	}{
		{"fewer than 5 points: the last", feed(3, 5, 4), 4, false},
		{"leading zeros skipped", feed(0, 0, 7, 8), 8, false},
		{"constant series", feed(6, 6, 6, 6, 6, 6), 6, false},
		{"linear trend continues", feed(trend...), 400, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.a.next()
			if !ok {
				t.Fatal("no prediction")
			}
			if (tt.tolerant && math.Abs(got-tt.want) > 0.05*tt.want) || (!tt.tolerant && got != tt.want) {
				t.Errorf("next = %g, want %g", got, tt.want)
			}
		})
	}
}

// TestHPAReplicaCalculator pins replica_calculator.go's External AverageValue rule.
func TestHPAReplicaCalculator(t *testing.T) {
	tests := []struct {
		name        string
		sum, target float64
		current     int32
		want        int32
	}{
		{"ratio 2 doubles", 12, 3, 2, 4},
		{"within 10% holds", 6.5, 3, 2, 2},
		{"ceil of sum over target, current ignored", 10, 3, 7, 4},
		{"zero load to one", 0, 3, 5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExternalAverageValue(tt.sum, tt.target, tt.current); got != tt.want {
				t.Errorf("ExternalAverageValue(%g, %g, %d) = %d, want %d", tt.sum, tt.target, tt.current, got, tt.want)
			}
		})
	}
}

func TestHPAFollowsTheController(t *testing.T) {
	d := deployment(t)
	svc := func(name string, desired, ready int32, kv float64) planner.ServiceObservation {
		return planner.ServiceObservation{Name: name, Desired: desired, Ready: ready, ReplicasKnown: true, KVUsage: planner.Known(kv)}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		after time.Duration
		obs   planner.Observations
		want  map[string]int32
	}
	// Targets: 1,500 input tokens/s and 0.3 KV usage per replica. Prefill load = rate x ISL.
	tests := []struct {
		name  string
		steps []step
	}{
		{"ceil(sum / target)", []step{{0, obsOf(2, 3000, 1, 0, svc("P", 2, 2, 0), svc("D", 2, 2, 0.6)), map[string]int32{"P": 4, "D": 4}}}},
		{"starting replicas count in current, not in the sum: no compounding", []step{
			{0, obsOf(2, 3000, 1, 0, svc("P", 4, 2, 0), svc("D", 4, 2, 0.6)), map[string]int32{"P": 4, "D": 4}},
			{15 * time.Second, obsOf(2, 3000, 1, 0, svc("P", 4, 2, 0), svc("D", 4, 2, 0.6)), map[string]int32{"P": 4, "D": 4}},
		}},
		{"within the 10% tolerance nothing changes", []step{{0, obsOf(1.08, 3000, 1, 0, svc("P", 2, 2, 0), svc("D", 2, 2, 0.32)), map[string]int32{"P": 2, "D": 2}}}},
		{"scale-up limited to max(2x, +4)", []step{{0, obsOf(100, 3000, 1, 0, svc("P", 1, 1, 0), svc("D", 1, 1, 0.3)), map[string]int32{"P": 5, "D": 1}}}},
		{"scale-down waits out the 300 s window", []step{
			{0, obsOf(4.5, 3000, 1, 0, svc("P", 6, 6, 0), svc("D", 1, 1, 0.3)), map[string]int32{"P": 9, "D": 1}},
			{15 * time.Second, obsOf(0.5, 3000, 1, 0, svc("P", 9, 9, 0), svc("D", 1, 1, 0.3)), map[string]int32{"P": 9, "D": 1}},
			{300 * time.Second, obsOf(0.5, 3000, 1, 0, svc("P", 9, 9, 0), svc("D", 1, 1, 0.3)), map[string]int32{"P": 9, "D": 1}},
			{316 * time.Second, obsOf(0.5, 3000, 1, 0, svc("P", 9, 9, 0), svc("D", 1, 1, 0.3)), map[string]int32{"P": 1, "D": 1}},
		}},
		{"no metric holds", []step{{0, planner.Observations{RequestRate: planner.Unknown("gap"), Services: []planner.ServiceObservation{
			{Name: "P", Desired: 3, Ready: 3, ReplicasKnown: true}, {Name: "D", Desired: 2, Ready: 2, ReplicasKnown: true, KVUsage: planner.Unknown("gap")}}}, map[string]int32{}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &HPA{Deployment: d, PrefillTokensPerReplica: 1500, KVUsagePerReplica: 0.3}
			for i, s := range tt.steps {
				got := h.Scale(t0.Add(s.after), s.obs)
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Errorf("step %d (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}
