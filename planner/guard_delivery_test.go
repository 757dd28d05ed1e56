package planner

import (
	"slices"
	"testing"
)

// TestDeliveryAsk: a decode service is sized for the flush a prefill backlog sends it when the
// backlog outlasts a replica's startup, and only then (synthetic profile: prefill 10 req/s per
// replica at 2,000 tokens).
func TestDeliveryAsk(t *testing.T) {
	tests := []struct {
		name     string
		obs      func(*Observations)
		rate     float64
		want     int32
		wantCode bool
	}{
		{
			// 10,000 queued at 20 req/s and 2 ready prefill replicas (20 req/s) with no spare
			// capacity: the queue guard asks prefill for 11, clamped to its maximum of 10. Once
			// they serve, the flush reaches decode at their 100 req/s (not 20 + 9998 / (200 tokens
			// x 20 ms) = 2,520 req/s): 20k tokens/s against 16.6k per decode replica (the ITL
			// calibrated at 0.67 of the profile's): 2 replicas, where the arrivals alone need 1.
			name: "a backlog that outlasts a startup sizes decode for prefill's capacity",
			obs:  func(o *Observations) { o.QueueDepth = Known(10000) }, rate: 20, want: 2, wantCode: true,
		},
		{
			// 60 queued at 10 req/s: the 2 ready prefill replicas' spare 10 req/s flush the 58
			// waiting in 5.8 s, before a decode replica asked now could serve.
			name: "a backlog the ready prefill replicas flush before a startup asks nothing",
			obs:  func(o *Observations) { o.QueueDepth = Known(60) }, rate: 10, want: 1,
		},
		{
			name: "no backlog asks nothing",
			obs:  func(o *Observations) { o.QueueDepth = Known(3) }, rate: 20, want: 1,
		},
		{
			name: "prefill replicas unknown asks nothing",
			obs: func(o *Observations) {
				o.QueueDepth = Known(5000)
				o.Services[1].ReplicasKnown = false
			}, rate: 20, want: 1,
		},
		{
			name: "queue gauge missing asks nothing",
			obs:  func(o *Observations) { o.QueueDepth = Unknown("stale") }, rate: 20, want: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := runTicks(t, disaggYAML, []tick{{0, at(tc.rate, reps(1, 2, 1), tc.obs)}})
			sd, ok := d.Service("Decode")
			if !ok {
				t.Fatal("no decision for Decode")
			}
			if sd.Desired != tc.want {
				t.Errorf("decode desired = %d, want %d; reasons:\n%s", sd.Desired, tc.want, reasonLines(sd))
			}
			if got := slices.Contains(codes(sd), CodeQueueBreach); got != tc.wantCode {
				t.Errorf("queue-breach reason on decode = %v, want %v; reasons:\n%s", got, tc.wantCode, reasonLines(sd))
			}
		})
	}
}
