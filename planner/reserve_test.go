package planner

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

func TestGrowthQuantile(t *testing.T) {
	const lead = 4
	tests := []struct {
		name   string
		series func(i int) float64
		n      int
		q      float64
		want   float64 // growth factor; 0 = expect cold
		tol    float64 // relative
	}{
		{name: "flat load needs no reserve", series: func(int) float64 { return 10 }, n: 500, q: 0.95, want: 1, tol: 0.03},
		{name: "cold below an hour of evidence", series: func(int) float64 { return 10 }, n: lead + 59, q: 0.95},
		{
			// Load doubles for one interval in every 20: 4 of every 20 bases see the double within
			// their 4-interval lead, the double itself sees a halving, the rest see 1.
			name: "a doubling one interval in twenty shows at the 90th percentile", n: 2000, q: 0.9, want: 2, tol: 0.03,
			series: func(i int) float64 {
				if i%20 == 0 {
					return 20
				}
				return 10
			},
		},
		{
			name: "the same doubling is below the 75th percentile", n: 2000, q: 0.75, want: 1, tol: 0.03,
			series: func(i int) float64 {
				if i%20 == 0 {
					return 20
				}
				return 10
			},
		},
		{
			name: "missing points give no samples", n: 500, q: 0.95,
			series: func(int) float64 { return math.NaN() },
		},
		{
			name: "a steady 1% growth per interval is about 4% over four", n: 300, q: 0.5, want: 1.04, tol: 0.03,
			series: func(i int) float64 { return 10 * math.Pow(1.01, float64(i)) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g growth
			g.setLead(lead, time.Minute, time.Minute)
			for i := range tc.n {
				g.add(tc.series(i), 0)
			}
			got, ok := g.quantile(tc.q)
			if tc.want == 0 {
				if ok {
					t.Fatalf("quantile = %g, ok; want cold (evidence %g)", got, g.evidence())
				}
				return
			}
			if !ok || math.Abs(got-tc.want) > tc.tol*tc.want {
				t.Fatalf("quantile(%g) = %g, %v; want %g within %g%% (evidence %g)", tc.q, got, ok, tc.want, 100*tc.tol, g.evidence())
			}
		})
	}
}

// TestGrowthForgets checks that the reserve follows a change of traffic: after a day of spiky load
// and two of flat load, the 95th percentile is back near 1.
func TestGrowthForgets(t *testing.T) {
	var g growth
	g.setLead(4, time.Minute, time.Minute)
	for i := range 1440 {
		g.add(10+10*float64(i%10/9), 10) // doubles one interval in ten
	}
	spiky, _ := g.quantile(0.95)
	for range 3 * 1440 {
		g.add(10, 10)
	}
	flat, _ := g.quantile(0.95)
	if spiky < 1.9 || flat > 1.05 {
		t.Fatalf("95th percentile: %g after spiky load (want about 2), %g after three flat days (want about 1)", spiky, flat)
	}
}

// TestGrowthReadingNoise checks the correction for the readings' own noise: on a flat load read
// with independent noise, a growth sample's future peak is partly the Poisson noise of counting
// the window's requests, which the queue model already prices; the reserve's quantile is that of
// max(e[t+1..t+h]) - e[t] less c x E[max of h], c = min(the readings' noise, 1/sqrt(requests per
// reading)), computed here from the same draws. Noise beyond Poisson (a load that moves minute to
// minute) stays in the reserve, and a regular burst in fewer than half the intervals is not noise
// at all (TestGrowthForgets, the doubling cases above).
func TestGrowthReadingNoise(t *testing.T) {
	const lead, n, q = 4, 6000, 0.9
	tests := []struct {
		name    string
		sigma   float64 // the readings' noise
		rate    float64 // requests/s, over a 60 s window
		correct float64 // the noise corrected for
	}{
		{name: "Poisson noise at 2.5 req/s", sigma: 0.0816, rate: 2.5, correct: 0.0816},
		{name: "Poisson noise at 40 req/s", sigma: 0.0204, rate: 40, correct: 0.0204},
		{name: "5% noise at 400 req/s keeps all but the Poisson 0.65%", sigma: 0.05, rate: 400, correct: 0.00645},
		{name: "unknown rate corrects nothing", sigma: 0.05, rate: 0, correct: 0},
		{name: "smoother than Poisson corrects the readings' noise", sigma: 0.01, rate: 2.5, correct: 0.01},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			e := make([]float64, n)
			var g growth
			g.setLead(lead, time.Minute, time.Minute)
			noise := 0.0 // the estimate averaged over the second half: a single reading wanders by ~17%
			for i := range e {
				e[i] = tc.sigma * r.NormFloat64()
				g.add(10*math.Exp(e[i]), tc.rate)
				if i >= n/2 {
					noise += g.readingNoise() / (n / 2)
				}
			}
			if math.Abs(noise-tc.sigma) > 0.05*tc.sigma {
				t.Errorf("reading noise = %g on average, want %g within 5%%", noise, tc.sigma)
			}
			var raw []float64
			for i := 0; i+lead < n; i++ {
				raw = append(raw, slices.Max(e[i+1:i+lead+1])-e[i])
			}
			slices.Sort(raw)
			rawQ := raw[int(q*float64(len(raw)))]
			want := math.Max(math.Exp(rawQ-tc.correct*expectedMax(lead)), 1)
			bin := math.Exp((reserveMaxLog - reserveMinLog) / reserveBins)
			got, ok := g.quantile(q)
			if !ok || got < want/bin || got > want*bin*bin {
				t.Fatalf("quantile(%g) = %g, %v; want %g within a bin (%g uncorrected)", q, got, ok, want, math.Exp(rawQ))
			}
		})
	}
}

func TestExpectedMax(t *testing.T) {
	// Values from tables of normal order statistics (Harter 1961): E[max of 2] = 1/sqrt(pi).
	tests := []struct {
		n    int
		want float64
	}{{1, 0}, {2, 1 / math.Sqrt(math.Pi)}, {3, 0.8463}, {4, 1.0294}, {5, 1.1630}, {10, 1.5388}, {50, 2.2491}, {100, 2.5076}}
	for _, tc := range tests {
		if got := expectedMax(tc.n); math.Abs(got-tc.want) > 1e-4 {
			t.Errorf("expectedMax(%d) = %.5f, want %.4f", tc.n, got, tc.want)
		}
	}
}

func TestRiskUpdate(t *testing.T) {
	const share = 0.005
	tests := []struct {
		name      string
		start     float64
		a         Value
		n         float64
		ticks     int
		starting  bool    // replicas the planner asked for are still starting
		ceiling   float64 // 0: maxRisk
		overspent bool    // the other services spent the whole budget: none left (budgetShare.left < 0)
		cushion   float64 // budgetShare.cushion: one lead time's misses, as a fraction of the window's requests
		wantCode  Code
		wantCmp   int // sign of e_after - e_before
		wantBound float64
	}{
		{name: "burning the budget tightens", start: 0.05, a: Known(0.98), n: 100, ticks: 1, wantCode: CodeRiskTightened, wantCmp: -1},
		{name: "burning while replicas start holds", start: 0.05, a: Known(0.98), n: 100, ticks: 5, starting: true, wantCode: CodeRiskHeld, wantCmp: 0},
		{name: "under-spent loosens while replicas start", start: 0.05, a: Known(1), n: 100, ticks: 1, starting: true, wantCode: CodeRiskLoosened, wantCmp: 1},
		{name: "under-spent loosens", start: 0.05, a: Known(1), n: 100, ticks: 1, wantCode: CodeRiskLoosened, wantCmp: 1},
		{name: "missing attainment freezes", start: 0.05, a: Unknown("no data"), n: 100, ticks: 5, wantCode: CodeRiskFrozen, wantCmp: 0},
		{name: "no requests freezes", start: 0.05, a: Known(1), n: 0, ticks: 5, wantCode: CodeRiskFrozen, wantCmp: 0},
		{name: "tightening stops at the tightest level", start: 0.05, a: Known(0.5), n: 100, ticks: 200, wantCode: CodeRiskTightened, wantCmp: -1, wantBound: minRisk},
		{name: "loosening stops at the loosest level", start: 0.05, a: Known(1), n: 100, ticks: 5000, wantCode: CodeRiskLoosened, wantCmp: 1, wantBound: maxRisk},
		{name: "prefill loosens past the reserve's loosest level", start: maxRisk, a: Known(1), n: 100, ticks: 5000, ceiling: maxWaitRisk, wantCode: CodeRiskLoosened, wantCmp: 1, wantBound: maxWaitRisk},
		{name: "burning from the loosest prefill level tightens", start: maxWaitRisk, a: Known(0.98), n: 100, ticks: 1, ceiling: maxWaitRisk, wantCode: CodeRiskTightened, wantCmp: -1},
		{name: "under-spent with the whole budget spent elsewhere holds", start: 0.05, a: Known(1), n: 100, ticks: 5, overspent: true, wantCode: CodeRiskHeld, wantCmp: 0},
		{name: "the whole budget spent elsewhere: back to the initial level, no looser", start: 0.02, a: Known(1), n: 100, ticks: 500, overspent: true, wantCode: CodeRiskHeld, wantCmp: 1, wantBound: defaultRisk},
		{name: "under-spent with room for one lead time of misses loosens", start: 0.05, a: Known(1), n: 100, ticks: 5, cushion: 0.004, wantCode: CodeRiskLoosened, wantCmp: 1},
		{name: "under-spent without room for one lead time of misses holds", start: 0.05, a: Known(1), n: 100, ticks: 5, cushion: 0.006, wantCode: CodeRiskHeld, wantCmp: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := risk{e: tc.start}
			ceiling := tc.ceiling
			if ceiling == 0 {
				ceiling = maxRisk
			}
			var u budgetUpdate
			for range tc.ticks {
				b := budgetShare{charged: share, left: share, cushion: tc.cushion}
				if tc.overspent {
					b.left = -share
				}
				u = k.update(tc.a, tc.n, b, time.Minute, 24*time.Hour, tc.starting, ceiling)
			}
			if u.code != tc.wantCode {
				t.Errorf("code = %s, want %s", u.code, tc.wantCode)
			}
			d := k.level() - tc.start
			if cmp := sign(d); cmp != tc.wantCmp {
				t.Errorf("e went %g -> %g, want sign %d", tc.start, k.level(), tc.wantCmp)
			}
			if tc.wantBound != 0 && k.level() != tc.wantBound {
				t.Errorf("e = %g, want the bound %g", k.level(), tc.wantBound)
			}
		})
	}
}

// TestWaitScale checks the variability multiplier: none up to the reserve's loosest level, then
// down in log e to minWaitScale at maxWaitRisk and no further; the reserve's quantile stays at
// its loosest meanwhile.
func TestWaitScale(t *testing.T) {
	tests := []struct {
		name string
		e    float64
		want float64
	}{
		{"tightest level", minRisk, 1},
		{"initial level", defaultRisk, 1},
		{"reserve's loosest level", maxRisk, 1},
		{"halfway in log e", math.Sqrt(maxRisk * maxWaitRisk), (1 + minWaitScale) / 2},
		{"prefill's loosest level", maxWaitRisk, minWaitScale},
		{"beyond it", 0.9, minWaitScale},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := waitScale(policies.RolePrefill, tc.e); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("waitScale(%g) = %g, want %g", tc.e, got, tc.want)
			}
			k := risk{e: tc.e}
			if got, want := k.quantile(policies.RolePrefill), 1-min(tc.e, maxRisk); got != want {
				t.Errorf("quantile at e = %g: %g, want %g", tc.e, got, want)
			}
		})
	}
}

// TestReserveQuantileByRole checks each role's reserve quantile over the levels: 1 - e down to
// 70% for prefill and aggregated workers, down to 95% (the initial level's) for decode, whose
// level still tightens it.
func TestReserveQuantileByRole(t *testing.T) {
	tests := []struct {
		name string
		role policies.Role
		e    float64
		want float64
	}{
		{"prefill, tightest", policies.RolePrefill, minRisk, 1 - minRisk},
		{"prefill, initial", policies.RolePrefill, defaultRisk, 1 - defaultRisk},
		{"prefill, between initial and loosest", policies.RolePrefill, 0.2, 0.8},
		{"prefill, past the loosest", policies.RolePrefill, maxWaitRisk, 1 - maxRisk},
		{"aggregated, past the loosest", policies.RoleAggregated, maxWaitRisk, 1 - maxRisk},
		{"decode, tightest", policies.RoleDecode, minRisk, 1 - minRisk},
		{"decode, tighter than initial", policies.RoleDecode, 0.02, 0.98},
		{"decode, initial", policies.RoleDecode, defaultRisk, 1 - defaultRisk},
		{"decode, looser than initial", policies.RoleDecode, 0.2, 1 - defaultRisk},
		{"decode, past prefill's loosest", policies.RoleDecode, maxWaitRisk, 1 - defaultRisk},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := risk{e: tc.e}
			if got := k.quantile(tc.role); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("quantile(%s) at e = %g: %g, want %g", tc.role, tc.e, got, tc.want)
			}
		})
	}
}

// TestLooseningPastTheReserve runs the error-budget step with nothing missed: every worker's level
// passes the reserve's loosest. Prefill shrinks its queue term (a wait-scaled reason); decode raises
// its utilisation ceiling to 1 (a utilisation-raised reason), and neither gets the other's reason;
// an aggregated worker, which prefills and decodes, does both.
func TestLooseningPastTheReserve(t *testing.T) {
	disagg, agg := mustPolicy(t, disaggYAML), mustPolicy(t, aggYAML("60s", "2m"))
	tests := []struct {
		name      string
		p         policies.Policy
		i         int
		wantLevel float64
		wantScale float64 // the wait-scaled reason's value; 0: no such reason
		wantMult  float64 // sizing's variability over the observed one
		wantRaise float64 // the utilisation-raised reason's value; 0: no such reason
		wantUtil  float64 // sizing's utilisation
		wantQ     float64 // the reserve quantile the decision reports
	}{
		{"prefill", disagg, 1, maxWaitRisk, minWaitScale, minWaitScale, 0, prefillMaxUtilisation, 1 - maxRisk},
		{"decode", disagg, 2, maxWaitRisk, 0, 1, 1, 1, 1 - defaultRisk},
		{"aggregated", agg, 0, maxWaitRisk, minWaitScale, minWaitScale, 1, 1, 1 - maxRisk},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			st := NewState(p, Options{Profile: synthProfile(t)})
			obs := steady(t0, 40, reps(1, 6, 6))
			obs.TTFTAttained, obs.ITLAttained = Known(1), Known(1)
			ss := &st.services[tc.i]
			ss.risk = risk{e: maxRisk}
			var r run
			var d ServiceDecision
			for range 500 {
				st.scratch = st.scratch[:0]
				d = ServiceDecision{}
				r = run{now: t0, obs: obs, p: p, st: &st, i: tc.i, svc: p.ServiceAt(tc.i), ss: ss, dec: &d,
					cur: 6, ready: 6, known: true, want: 6}
				r.errorBudget()
			}
			if got := ss.risk.level(); got != tc.wantLevel {
				t.Errorf("level after 500 unspent intervals = %g, want %g", got, tc.wantLevel)
			}
			scale, raise := 0.0, 0.0
			for _, rs := range st.scratch {
				switch rs.Code {
				case CodeWaitScaled:
					scale = rs.Value
				case CodeUtilisationRaised:
					raise = rs.Value
				}
			}
			if scale != tc.wantScale || raise != tc.wantRaise {
				t.Errorf("wait-scaled, utilisation-raised reason values = %g, %g, want %g, %g (0: none)", scale, raise, tc.wantScale, tc.wantRaise)
			}
			z := r.sizingFor()
			if got, want := z.variability, variability(obs.ArrivalCV)*tc.wantMult; got != want {
				t.Errorf("sizing variability = %g, want %g", got, want)
			}
			if z.utilisation != tc.wantUtil {
				t.Errorf("sizing utilisation = %g, want %g", z.utilisation, tc.wantUtil)
			}
			if got := d.Budget.ReserveQuantile; got != tc.wantQ {
				t.Errorf("reported reserve quantile = %g, want %g", got, tc.wantQ)
			}
		})
	}
}

func sign(x float64) int {
	switch {
	case x > 1e-12:
		return 1
	case x < -1e-12:
		return -1
	}
	return 0
}

func TestUtilisation(t *testing.T) {
	for _, role := range []policies.Role{policies.RolePrefill, policies.RoleDecode, policies.RoleAggregated} {
		prev := 0.0
		for _, e := range []float64{minRisk / 2, minRisk, 0.02, defaultRisk, 0.1, maxRisk, 1} {
			u := utilisation(role, e)
			if u < prev || u < minUtilisation || u > 1 {
				t.Fatalf("%s: utilisation(%g) = %g: want non-decreasing within [%g, 1]", role, e, u, minUtilisation)
			}
			prev = u
		}
		if got := utilisation(role, minRisk); got != minUtilisation {
			t.Errorf("%s: utilisation at the tightest level = %g, want %g", role, got, minUtilisation)
		}
	}
	if got := utilisation(policies.RolePrefill, defaultRisk); got != prefillMaxUtilisation {
		t.Errorf("prefill at the initial level: %g, want no margin (%g)", got, prefillMaxUtilisation)
	}
	tests := []struct {
		name string
		role policies.Role
		e    float64
		want float64
	}{
		{"decode at the reserve's loosest level", policies.RoleDecode, maxRisk, decodeMaxUtilisation},
		{"decode halfway past it in log e", policies.RoleDecode, math.Sqrt(maxRisk * maxWaitRisk), (1 + decodeMaxUtilisation) / 2},
		{"decode at its loosest level", policies.RoleDecode, maxWaitRisk, 1},
		{"aggregated at the reserve's loosest level", policies.RoleAggregated, maxRisk, decodeMaxUtilisation},
		{"aggregated at its loosest level", policies.RoleAggregated, maxWaitRisk, 1},
		{"prefill keeps its ceiling", policies.RolePrefill, maxWaitRisk, prefillMaxUtilisation},
	}
	for _, tc := range tests {
		if got := utilisation(tc.role, tc.e); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: utilisation(%g) = %g, want %g", tc.name, tc.e, got, tc.want)
		}
	}
}

// TestShare checks a service's part of the miss budget: what the other charged services have left
// of it, at least half an equal split, and all of it for a service alone; and what they have left
// of the whole, which is negative once they overspent it.
func TestShare(t *testing.T) {
	disagg, agg := mustPolicy(t, disaggYAML), mustPolicy(t, aggYAML("60s", "2m"))
	const m = 0.01 // objective 99%, the default
	// every worker starts in 2 minutes, the interval is 60 s and the objective window 24 h
	const c = 180.0 / 86400
	tests := []struct {
		name  string
		p     policies.Policy
		i     int
		spent []float64 // each service's miss fraction over the objective window
		want  budgetShare
	}{
		{"decode spent nothing: prefill may spend it all", disagg, 1, []float64{0, 0, 0}, budgetShare{m, m, c}},
		{"decode spent 0.3%: prefill gets the rest", disagg, 1, []float64{0, 0, 0.003}, budgetShare{0.007, 0.007, c}},
		{"decode overspent: prefill keeps half an equal split, with none left", disagg, 1, []float64{0, 0, 0.03}, budgetShare{m / 4, -0.02, c}},
		{"prefill overspent: decode keeps half an equal split, with none left", disagg, 2, []float64{0, 0.05, 0}, budgetShare{m / 4, -0.04, c}},
		{"a frontend is not charged", disagg, 2, []float64{0.5, 0.002, 0}, budgetShare{0.008, 0.008, c}},
		{"one aggregated worker: the whole budget, whatever it spent", agg, 0, []float64{0.02}, budgetShare{m, m, c}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(tc.p, Options{})
			for j, f := range tc.spent {
				st.services[j].risk = risk{reqs: 1000, misses: 1000 * f}
			}
			r := run{p: tc.p, st: &st, i: tc.i}
			got := r.share()
			if math.Abs(got.charged-tc.want.charged) > 1e-12 || math.Abs(got.left-tc.want.left) > 1e-12 ||
				math.Abs(got.cushion-tc.want.cushion) > 1e-12 {
				t.Errorf("share = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestRiskHeldDriftsBack checks that a service whose window budget is spent but which burns
// nothing now drifts back toward the initial level, never looser.
func TestRiskHeldDriftsBack(t *testing.T) {
	k := risk{e: minRisk, reqs: 1000, misses: 100, long: 0, short: 0, haveRecent: true}
	for range 500 {
		u := k.update(Known(1), 10, budgetShare{charged: 0.005, left: 0.005}, time.Minute, 24*time.Hour, false, maxRisk)
		if u.code != CodeRiskHeld && u.code != CodeRiskLoosened {
			t.Fatalf("code %s, want risk-held while the window is spent", u.code)
		}
		if u.code == CodeRiskHeld && k.level() > defaultRisk {
			t.Fatalf("held at e = %g, looser than the initial %g", k.level(), defaultRisk)
		}
	}
	if k.level() < defaultRisk*0.99 {
		t.Fatalf("after 500 quiet intervals e = %g, want back near %g", k.level(), defaultRisk)
	}
}

// TestGrowthColdIsAnHour checks that the reserve's evidence threshold is time, not samples: at a
// 2 s interval, 300 samples (10 minutes) are still cold, 1,900 (over an hour) are warm.
func TestGrowthColdIsAnHour(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		n        int
		warm     bool
	}{
		{name: "10 minutes at 2 s", interval: 2 * time.Second, n: 300},
		{name: "over an hour at 2 s", interval: 2 * time.Second, n: 1900, warm: true},
		{name: "59 minutes at 60 s", interval: time.Minute, n: 59 + 4},
		{name: "61 minutes at 60 s", interval: time.Minute, n: 61 + 4, warm: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g growth
			g.setLead(4, tc.interval, time.Minute)
			for range tc.n {
				g.add(10, 10)
			}
			if _, ok := g.quantile(0.9); ok != tc.warm {
				t.Fatalf("warm = %v after %d samples at %s (evidence %g), want %v", ok, tc.n, tc.interval, g.evidence(), tc.warm)
			}
		})
	}
}

// TestRiskChargesMissesWhileStarting checks that misses while replicas start still count against
// the budget (they hold the level, they are not forgiven): once the replicas serve, a burn that
// goes on tightens at once.
func TestRiskChargesMissesWhileStarting(t *testing.T) {
	k := risk{e: defaultRisk}
	for range 5 {
		k.update(Known(0.9), 100, budgetShare{charged: 0.005, left: 0.005}, time.Minute, 24*time.Hour, true, maxRisk)
	}
	if got := k.spent(); got < 0.09 {
		t.Fatalf("after five intervals at 90%% attainment while starting, spent = %g, want 0.1", got)
	}
	if k.level() != defaultRisk {
		t.Fatalf("level moved to %g while replicas started, want it held at %g", k.level(), defaultRisk)
	}
	if u := k.update(Known(0.9), 100, budgetShare{charged: 0.005, left: 0.005}, time.Minute, 24*time.Hour, false, maxRisk); u.code != CodeRiskTightened {
		t.Fatalf("burning with every replica ready: code %s, want %s", u.code, CodeRiskTightened)
	}
}
