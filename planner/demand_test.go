package planner

import (
	"testing"
	"time"
)

func TestArrivals(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	obs := func(rate, inflight Value) Observations { return Observations{RequestRate: rate, Inflight: inflight} }
	type tick struct {
		at  time.Duration
		obs Observations
	}
	tests := []struct {
		name          string
		ticks         []tick
		wantRate      float64
		wantCorrected bool
	}{
		{name: "first tick: completions as they are", ticks: []tick{{0, obs(Known(10), Known(50))}}, wantRate: 10},
		{
			name:     "a growing backlog adds to completions",
			ticks:    []tick{{0, obs(Known(10), Known(50))}, {time.Minute, obs(Known(10), Known(650))}},
			wantRate: 20, wantCorrected: true,
		},
		{
			name:     "a draining backlog is subtracted",
			ticks:    []tick{{0, obs(Known(30), Known(650))}, {time.Minute, obs(Known(30), Known(50))}},
			wantRate: 20, wantCorrected: true,
		},
		{
			name:     "a frontend restart's drop never makes arrivals negative",
			ticks:    []tick{{0, obs(Known(1), Known(6000))}, {time.Minute, obs(Known(1), Known(0))}},
			wantRate: 0, wantCorrected: true,
		},
		{
			name:     "readings more than two intervals apart are not differenced",
			ticks:    []tick{{0, obs(Known(10), Known(50))}, {3 * time.Minute, obs(Known(10), Known(650))}},
			wantRate: 10,
		},
		{
			name:     "a missing in-flight gauge leaves completions",
			ticks:    []tick{{0, obs(Known(10), Known(50))}, {time.Minute, obs(Known(10), Unknown("stale"))}},
			wantRate: 10,
		},
		{
			name:     "a missing reading in between breaks the difference",
			ticks:    []tick{{0, obs(Known(10), Known(50))}, {time.Minute, obs(Known(10), Unknown("stale"))}, {2 * time.Minute, obs(Known(10), Known(650))}},
			wantRate: 10,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st State
			var got Observations
			var corrected bool
			for _, tk := range tc.ticks {
				got, _, corrected = st.arrivals(t0.Add(tk.at), tk.obs, time.Minute)
			}
			if got.RequestRate.V != tc.wantRate || corrected != tc.wantCorrected {
				t.Fatalf("rate %g (corrected %v), want %g (corrected %v)", got.RequestRate.V, corrected, tc.wantRate, tc.wantCorrected)
			}
		})
	}
}
