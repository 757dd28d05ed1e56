package forecast

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkStep measures one live-loop step (Observe one point, then Forecast h = 1..6) with
// 2,016 points (14 days at 10 minutes) of history already fed. Scheduled refits fall inside the
// loop at their natural rate (one per RefitEvery steps), so the mean includes them. agg6/auto is
// auto fitted on hourly means (Options.Aggregate 6).
//
//	go test ./forecast -run '^$' -bench BenchmarkStep -count 10
func BenchmarkStep(b *testing.B) {
	const P = 144
	hist := daily(2016, P, 1000, 400, 0.08, 10)
	next := daily(4*2016, P, 1000, 400, 0.08, 11)
	type variant struct {
		name, method string
		agg          int
	}
	var vs []variant
	for _, m := range Methods() {
		vs = append(vs, variant{m, m, 1})
	}
	vs = append(vs, variant{"agg6/" + MethodAuto, MethodAuto, AggregateFor(P, 2016)}) // hourly means
	for _, v := range vs {
		b.Run(v.name, func(b *testing.B) {
			f := mustNew(b, v.method, Options{Period: P, Aggregate: v.agg})
			feed(f, hist)
			buf := make([]Point, 0, 6)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				f.Observe(next[i%len(next)])
				buf = f.Forecast(buf[:0], 6, 0.8)
			}
		})
	}
}

// BenchmarkReplay measures a full rolling-origin replay of a 14-day, 10-minute series (2,016
// points: Observe, then Forecast 6 steps, at every point), as tidal forecast runs it.
//
//	go test ./forecast -run '^$' -bench BenchmarkReplay -count 10 -cpu 1
func BenchmarkReplay(b *testing.B) {
	const P = 144
	vals := daily(2016, P, 1000, 400, 0.08, 12)
	for _, m := range []string{MethodLast, MethodHoltWinters, MethodAR, MethodKalman, MethodAuto} {
		b.Run(m, func(b *testing.B) {
			for b.Loop() {
				Replay(mustNew(b, m, Options{Period: P}), vals, 6, 0.8)
			}
		})
	}
}

// BenchmarkRetained reports the heap an auto forecaster retains (runtime.MemStats.HeapAlloc
// after a GC, before and after) once fed 14 days of a daily series at a 15 s and a 60 s step,
// with the default 12 horizons and with the planner's lead time for a 2-minute startup (9 steps
// at 15 s, 3 at 60 s); the 28d cases run 14 more days, as a long-running loop does (the history
// buffers then hold more than the 14 days they use). "agg" cases fit auto on AggregateFor's means
// (hourly means: 240 points at 15 s, 60 at 60 s), as the planner builds its forecasters since
// issue 11; the others fit every point. One op builds and warms one forecaster (ten for the agg
// cases, reporting the mean, since a few kB of one-off heap would blur one); run it with
// -benchtime 1x.
//
//	go test ./forecast -run '^$' -bench BenchmarkRetained -benchtime 1x
func BenchmarkRetained(b *testing.B) {
	for _, tc := range []struct {
		name          string
		step          time.Duration
		horizon, days int
		agg           bool
	}{
		{"15s/h12", 15 * time.Second, 12, 14, false}, {"15s/h9", 15 * time.Second, 9, 14, false},
		{"15s/h9/28d", 15 * time.Second, 9, 28, false},
		{"60s/h12", time.Minute, 12, 14, false}, {"60s/h3", time.Minute, 3, 14, false},
		{"agg/15s/h9", 15 * time.Second, 9, 14, true}, {"agg/15s/h9/28d", 15 * time.Second, 9, 28, true},
		{"agg/60s/h3", time.Minute, 3, 14, true}, {"agg/60s/h5/28d", time.Minute, 5, 28, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			P := int(24 * time.Hour / tc.step)
			vals := daily(tc.days*P, P, 1000, 400, 0.08, 13)
			o := Options{Period: P, MaxHorizon: tc.horizon}
			if tc.agg {
				o.Aggregate = AggregateFor(P, 14*P)
			}
			n := 1
			if tc.agg {
				n = 10 // small enough that one-off heap (gonum's pools) would blur one
			}
			var ms runtime.MemStats
			for b.Loop() {
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&ms)
				before := ms.HeapAlloc
				fs := make([]Forecaster, n)
				for i := range fs {
					fs[i] = mustNew(b, MethodAuto, o)
					feed(fs[i], vals)
				}
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.HeapAlloc-before)/1e3/float64(n), "kB-retained")
				runtime.KeepAlive(fs)
			}
		})
	}
}
