package planner

import (
	"github.com/google/go-cmp/cmp"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

// TestPrefillCalibrationLearnsServiceTimeOnly runs four fixed prefill replicas (synthetic profile:
// 100 ms and 10 req/s per replica at 2,000 tokens) and reports TTFTs as a batching engine would.
// Where the queue model predicts a long wait that a batching engine does not have, a TTFT below the
// prediction says nothing about the engine's speed and the calibrator must not learn from it; one
// above even that prediction is a slow engine, learned; at light load it learns both ways. An
// engine k times slower than profiled is read as k, the factor sizing applies to the service time
// inside the queue model, at any load where it is learned (the ratio of observed to predicted mean
// TTFT reads more than k once the wait matters: 1.58 for 1.35 at 22 req/s).
func TestPrefillCalibrationLearnsServiceTimeOnly(t *testing.T) {
	tests := []struct {
		name string
		rate float64 // req/s over 4 replicas of 10 req/s each
		// ttft is the observed mean TTFT given the profile's service time s and the model's mean
		// wait at a service time x (wait(x)).
		ttft       func(s float64, wait func(x float64) float64) float64
		wantFactor float64
	}{
		{"near saturation the model's queue is absorbed by batching: no learning", 38,
			func(s float64, _ func(float64) float64) float64 { return s }, 1},
		{"near saturation a TTFT under the predicted wait teaches nothing, even above the service time", 38,
			func(s float64, _ func(float64) float64) float64 { return 1.25 * s }, 1},
		{"near saturation an engine slower than even the queue model is learned", 34,
			func(s float64, wait func(float64) float64) float64 { return 1.1*s + wait(1.1*s) }, 1.1},
		{"light load, engine as profiled", 8,
			func(s float64, wait func(float64) float64) float64 { return s + wait(s) }, 1},
		{"light load, engine 25% slower", 8,
			func(s float64, wait func(float64) float64) float64 { return 1.25*s + wait(1.25*s) }, 1.25},
		{"moderate load, engine 35% slower: read as 1.35, not the ratio's 1.63", 22,
			func(s float64, wait func(float64) float64) float64 { return 1.35*s + wait(1.35*s) }, 1.35},
		{"moderate load, engine 20% faster", 22,
			func(s float64, wait func(float64) float64) float64 { return 0.8*s + wait(0.8*s) }, 0.8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			y := strings.Replace(disaggYAML, "name: Prefill, role: prefill, minReplicas: 1, maxReplicas: 10",
				"name: Prefill, role: prefill, minReplicas: 4, maxReplicas: 4", 1)
			p := mustPolicy(t, y)
			m := synthProfile(t)
			st := NewState(p, Options{Profile: m, NewForecaster: lastValueForecasters(0)})
			var d Decision
			for i := range 60 {
				now := t0.Add(time.Duration(i) * time.Minute)
				obs := steady(now, tc.rate, reps(1, 4, 1))
				pc, _ := m.Prefill(obs.InputTokens.V, 1)
				s := pc.ServiceTime
				wait := func(x float64) float64 { return meanWait(4, tc.rate, x, variability(obs.ArrivalCV)) }
				obs.TTFT = Known(tc.ttft(s, wait))
				d = Plan(now, obs, p, &st)
			}
			sd, _ := d.Service("Prefill")
			got := 1.0
			for _, r := range sd.Reasons {
				if r.Code == CodeCalibrated {
					got = r.Value
				}
			}
			if math.Abs(got-tc.wantFactor) > 0.02 {
				t.Errorf("TTFT calibration factor %.3f, want %.3f\n%s", got, tc.wantFactor, reasonLines(sd))
			}
		})
	}
}

// TestCalibratedDecodeThroughputByRole: a decode worker's ITL factor is its engine's speed, so its
// throughput at the operating point is divided by the factor; an aggregated worker's factor also
// counts prefill's pauses, which sizing counts in the decode share, so its throughput stays the
// profile's (synthetic profile, ITL observed 1.5x the profile's).
func TestCalibratedDecodeThroughputByRole(t *testing.T) {
	const itl, target = 1.5, 0.020
	prof := *synthProfile(t)
	raw, ok := prof.Decode(2000, 200, target/itl, 1)
	if !ok {
		t.Fatal("profile decode infeasible")
	}
	tests := []struct {
		role policies.Role
		want float64
	}{
		{policies.RoleDecode, raw.TokensPerSecond / itl},
		{policies.RoleAggregated, raw.TokensPerSecond},
	}
	for _, tc := range tests {
		t.Run(string(tc.role), func(t *testing.T) {
			got, ok := calibrated(prof, 1, itl, tc.role).Decode(2000, 200, target, 1)
			if !ok {
				t.Fatal("calibrated decode infeasible")
			}
			if math.Abs(got.TokensPerSecond-tc.want) > 1e-9*tc.want {
				t.Errorf("TokensPerSecond = %g, want %g", got.TokensPerSecond, tc.want)
			}
		})
	}
}

// TestServiceScale solves k x s + W(c, lambda, k x s) = ttft: the root where the model reproduces
// the observed TTFT; the bounds 0.5 and 4 where no factor between them does; and, for a TTFT far
// above the service time at high load, a root just under the largest factor the queue is stable
// at (W grows without bound there).
func TestServiceScale(t *testing.T) {
	const s, v = 0.1, 0.625 // 100 ms lone TTFT, Poisson arrivals
	tests := []struct {
		name      string
		c         int
		lambda    float64
		ttft      float64
		want      float64
		tolerance float64
	}{
		{"no load: the ratio", 4, 1e-9, 0.13, 1.3, 1e-6},
		{"moderate load, engine as profiled", 4, 22, s + meanWait(4, 22, s, v), 1, 1e-6},
		{"moderate load, engine 35% slower", 4, 22, 1.35*s + meanWait(4, 22, 1.35*s, v), 1.35, 1e-6},
		{"faster than half the profile: the lower bound", 4, 1, 0.02, 0.5, 1e-6},
		{"slower than four times the profile: the upper bound", 4, 1, 0.5, 4, 1e-6},
		{"three times slower: within the bounds", 4, 1e-9, 0.3, 3, 1e-6},
		{"a 10 s TTFT: just under the largest stable factor", 2, 15, 10, 2 / (15 * s), 0.01},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := serviceScale(tc.ttft, tc.c, tc.lambda, s, v); math.Abs(got-tc.want) > tc.tolerance {
				t.Errorf("serviceScale = %.6f, want %.6f", got, tc.want)
			}
		})
	}
}

// TestLearnSkipsWindowAfterUnready: the metrics window read one interval after replicas were not
// all serving still holds the queue built then (a step's backlog drains through it), so the
// calibrators learn nothing from it; one window later they learn again, unless the queue gauge
// says that backlog is still queued (waiting longer than the TTFT target): then not until one
// window after it is seen drained. A queue with no scale-up behind it is learned from (a slow
// engine queues too). The synthetic profile's four prefill replicas at 8 req/s, the TTFT 1.5x the
// profile's; a queue gauge of 10 is 6 waiting, 0.75 s at 8 req/s.
func TestLearnSkipsWindowAfterUnready(t *testing.T) {
	p := mustPolicy(t, disaggYAML) // metrics window 1m, TTFT target 300 ms
	tests := []struct {
		name    string
		unready time.Duration // before t0, the last interval with fewer ready than desired; 0: never
		queues  []float64     // the queue gauge at t0, t0 + 1m, ... (one learn call each)
		want    []int         // the TTFT calibrator's samples after each call
	}{
		{"never unready: learned", 0, []float64{0}, []int{1}},
		{"unready an interval ago: the window still holds it", time.Minute, []float64{0}, []int{0}},
		{"unready two intervals ago: learned", 2 * time.Minute, []float64{0}, []int{1}},
		{"never unready, a queue: learned", 0, []float64{10}, []int{1}},
		{"unready two intervals ago, its backlog still queued: not until a window after it drains",
			2 * time.Minute, []float64{10, 10, 0, 0}, []int{0, 0, 0, 1}},
		{"unready two intervals ago, a backlog under the target: learned", 2 * time.Minute, []float64{6}, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := synthProfile(t)
			st := NewState(p, Options{Profile: m})
			ss := &st.services[1]
			if tc.unready > 0 {
				ss.unreadySeen, ss.drainPending = t0.Add(-tc.unready), true
			}
			var got []int
			for i, q := range tc.queues {
				now := t0.Add(time.Duration(i) * time.Minute)
				obs := steady(now, 8, reps(1, 4, 1))
				obs.QueueDepth = Known(q)
				pc, _ := m.Prefill(obs.InputTokens.V, 1)
				obs.TTFT = Known(1.5 * pc.ServiceTime)
				var d ServiceDecision
				r := run{now: now, obs: obs, p: p, st: &st, i: 1, svc: p.ServiceAt(1), ss: ss, dec: &d,
					cur: 4, ready: 4, known: true, want: 4}
				r.dec.GPUsPerReplica = 1
				r.learn()
				got = append(got, ss.ttftCal.Samples())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("TTFT calibrator samples after each interval (-want +got):\n%s", diff)
			}
		})
	}
}
