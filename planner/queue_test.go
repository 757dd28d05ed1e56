package planner

import (
	"math"
	"testing"
)

// erlangCDirect is an independent oracle: the textbook Erlang C formula with explicit sums.
func erlangCDirect(c int, a float64) float64 {
	term, sum := 1.0, 0.0
	for k := 0; k < c; k++ {
		sum += term
		term *= a / float64(k+1)
	}
	top := term * float64(c) / (float64(c) - a)
	return top / (sum + top)
}

func TestErlangC(t *testing.T) {
	tests := []struct {
		name string
		c    int
		a    float64
	}{
		{"M/M/1 is rho", 1, 0.5},
		{"M/M/2 at a=1", 2, 1},
		{"M/M/3 at a=2", 3, 2},
		{"M/M/10 at a=8.5", 10, 8.5},
		{"M/M/50 light", 50, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := erlangC(erlangBAt(tc.c, tc.a), tc.c, tc.a)
			if want := erlangCDirect(tc.c, tc.a); math.Abs(got-want) > 1e-12 {
				t.Errorf("erlangC(%d, %g) = %.15g, want %.15g", tc.c, tc.a, got, want)
			}
		})
	}
}

// TestWaitPercentileMM1 checks the tail against M/M/1's exact P(W > t) = ρ exp(-(μ-λ)t) when the
// variability factor is 1 (ca = cs = 1).
func TestWaitPercentileMM1(t *testing.T) {
	lambda, s, p := 5.0, 0.1, 0.9
	got := waitPercentile(erlangBAt(1, lambda*s), 1, lambda, s, p, 1)
	rho, mu := lambda*s, 1/s
	if p := rho * math.Exp(-(mu-lambda)*got); math.Abs(p-0.1) > 1e-12 {
		t.Errorf("P(W > w_0.9) = %g, want 0.1", p)
	}
}

// TestPrefillServersIsMinimal checks prefillServers returns the fewest servers meeting the target,
// with the direct Erlang C formula as oracle.
func TestPrefillServersIsMinimal(t *testing.T) {
	tests := []struct {
		name                   string
		lambda, s, target, p   float64
		cv                     float64
		wantFeasible, wantZero bool
	}{
		{"light poisson", 2, 0.1, 0.3, 0.9, 1, true, false},
		{"heavy poisson", 95, 0.1, 0.3, 0.9, 1, true, false},
		{"bursty", 95, 0.1, 0.3, 0.9, 3, true, false},
		{"smooth", 95, 0.1, 0.3, 0.9, 0, true, false},
		{"p99", 40, 0.05, 0.1, 0.99, 1, true, false},
		{"no load", 0, 0.1, 0.3, 0.9, 1, true, true},
		{"service alone breaks target", 10, 0.5, 0.3, 0.9, 1, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := (tc.cv*tc.cv + serviceCV*serviceCV) / 2
			c, feasible := prefillServers(tc.lambda, tc.s, tc.target, tc.p, v, 1000)
			if feasible != tc.wantFeasible || (c == 0) != tc.wantZero {
				t.Fatalf("c=%d feasible=%v, want feasible=%v zero=%v", c, feasible, tc.wantFeasible, tc.wantZero)
			}
			if !feasible {
				if a := tc.lambda * tc.s; float64(c) < a/maxPlannedUtilisation {
					t.Errorf("infeasible target sized %d servers for offered load %g", c, a)
				}
				return
			}
			meets := func(c int) bool {
				a := tc.lambda * tc.s
				if a >= float64(c) {
					return false
				}
				pw := erlangCDirect(c, a)
				w := 0.0
				if pw > 1-tc.p {
					w = v * math.Log(pw/(1-tc.p)) / (float64(c)/tc.s - tc.lambda)
				}
				return tc.s+w <= tc.target
			}
			if c > 0 && !meets(c) {
				t.Errorf("%d servers do not meet the target", c)
			}
			if c > 1 && meets(c-1) {
				t.Errorf("%d servers also meet the target; %d is not minimal", c-1, c)
			}
		})
	}
}

// TestBurstinessNeedsMoreServers checks the point of the queueing model: the same mean load with
// burstier arrivals needs at least as many prefill servers.
func TestBurstinessNeedsMoreServers(t *testing.T) {
	prev := 0
	for _, cv := range []float64{0, 0.5, 1, 2, 4} {
		c, _ := prefillServers(95, 0.1, 0.3, 0.9, (cv*cv+serviceCV*serviceCV)/2, 1000)
		if c < prev {
			t.Errorf("arrival CV %g needs %d servers, fewer than %d at lower CV", cv, c, prev)
		}
		prev = c
	}
	if smooth, _ := prefillServers(95, 0.1, 0.3, 0.9, (0+serviceCV*serviceCV)/2, 1000); prev <= smooth {
		t.Errorf("CV 4 needs %d servers, no more than CV 0's %d", prev, smooth)
	}
}
