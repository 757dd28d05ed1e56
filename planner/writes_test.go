package planner

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/policies"
)

// writerYAML is a frontend sized by requests/s (and a worker tidal does not actuate), with a
// 3-minute conflict back-off.
const writerYAML = `apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: writer}
spec:
  target: {namespace: llm, deployment: d, topology: aggregated}
  services:
    - {name: Frontend, role: frontend, minReplicas: 1, maxReplicas: 10, requestsPerSecondPerReplica: 50, startupTime: 30s}
    - {name: Worker, role: aggregated, minReplicas: 1, maxReplicas: 4, gpusPerReplica: 1, startupTime: 30s, actuation: none}
  slo:
    ttft: {target: 300ms}
    itl: {target: 20ms}
  planning: {interval: 60s, headroom: 0}
  stability: {scaleDownWindow: 5m, maxStepDown: 10, startupTimeout: 10m, conflictBackoff: 3m}
`

// writerTick is one tick of a scenario: what the cluster holds, and what the test checks.
type writerTick struct {
	read      int32 // the DGDSA's replicas (-1: unreadable)
	follower  bool  // the process does not lead this tick (the loop will not write what Plan decides)
	wantWrite bool
	wantCodes []Code // the observe/stabilise reasons about other writers, in order
}

// TestOtherWriter drives Plan through scenarios of tidal's own writes and another writer's, with
// the loop's part (Wrote after a write, Follow when not leading) played by the test. At 150
// req/s the frontend needs 3.
func TestOtherWriter(t *testing.T) {
	cw, wb := CodeConflictingWriter, CodeWriterBackoff
	tests := []struct {
		name  string
		ticks []writerTick
	}{
		{name: "own writes are explained", ticks: []writerTick{
			{read: 1, wantWrite: true}, {read: 3}, {read: 3},
		}},
		{name: "a write that has not landed yet is explained", ticks: []writerTick{
			{read: 1, wantWrite: true}, {read: 1, wantWrite: true}, {read: 3},
		}},
		{name: "another writer is detected and backed off from until quiet", ticks: []writerTick{
			{read: 1, wantWrite: true}, {read: 3},
			{read: 8, wantCodes: []Code{cw, wb}}, // detected: 8 kept, not written
			{read: 8, wantCodes: []Code{wb}},
			{read: 9, wantCodes: []Code{wb}}, // it wrote again: the quiet time restarts
			{read: 9, wantCodes: []Code{wb}},
			{read: 9, wantCodes: []Code{wb}},
			{read: 9, wantWrite: true}, // 3 minutes without a change: tidal writes again
		}},
		{name: "the back-off ends when the count returns to tidal's", ticks: []writerTick{
			{read: 1, wantWrite: true}, {read: 3},
			{read: 8, wantCodes: []Code{cw, wb}},
			{read: 3},
		}},
		{name: "unknown replicas are never written", ticks: []writerTick{
			{read: -1}, {read: -1}, {read: 1, wantWrite: true},
		}},
		{name: "a follower sees no other writer", ticks: []writerTick{
			{read: 1, wantWrite: true}, {read: 3},
			{read: 2, follower: true, wantWrite: true}, {read: 1, follower: true, wantWrite: true}, {read: 1, wantWrite: true},
		}},
		{name: "nothing is detected before the first write", ticks: []writerTick{
			{read: 3}, {read: 2, wantWrite: true},
		}},
	}
	p, err := policies.Parse([]byte(writerYAML), "writer.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(p, Options{NewForecaster: func(policies.Forecast, time.Duration) forecast.Forecaster { return nil }})
			for i, tk := range tc.ticks {
				now := t0.Add(time.Duration(i) * time.Minute)
				obs := steady(now, 150, map[string]int32{"Frontend": max(tk.read, 0)})
				obs.Services[0].ReplicasKnown = tk.read >= 0
				if tk.follower {
					st.Follow()
				}
				d := Plan(now, obs, p, &st)
				s := d.Services[0]
				var got []Code
				for _, r := range s.Reasons {
					if r.Code == CodeConflictingWriter || r.Code == CodeWriterBackoff {
						got = append(got, r.Code)
					}
				}
				if s.Write != tk.wantWrite || !cmp.Equal(got, tk.wantCodes) {
					t.Fatalf("tick %d (read %d): write %v, other-writer reasons %v; want %v, %v\n%s",
						i, tk.read, s.Write, got, tk.wantWrite, tk.wantCodes, reasonLines(s))
				}
				if s.Write && !tk.follower {
					st.Wrote(s.Name, s.Desired)
				}
			}
		})
	}
}
