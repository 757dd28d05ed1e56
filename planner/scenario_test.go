package planner

import (
	"strings"
	"testing"
	"time"
)

// steadyYAML plans one prefill service with learning off, so the only moving part is the load.
var steadyYAML = strings.Replace(disaggYAML, "  planning:", "  performanceModel: {profile: synthetic, learn: false}\n  planning:", 1)

// capacityOfOne finds, by bisection, the highest request rate whose sized load (after headroom)
// one prefill replica carries within the TTFT SLO.
func capacityOfOne(t *testing.T) float64 {
	t.Helper()
	p := mustPolicy(t, steadyYAML)
	m := *synthProfile(t)
	z := sizing{role: "prefill", slo: p.SLO, gpus: 1, variability: variability(Known(1)), limit: 10}
	f := 1 + p.Planning.Headroom
	lo, hi := 0.0, 1000.0
	for range 100 {
		mid := (lo + hi) / 2
		l := Load{RequestRate: mid * f, InputTokenRate: mid * f * 2000, OutputTokenRate: mid * f * 200,
			InputTokens: 2000, OutputTokens: 200}
		if size(m, l, z).replicas <= 1 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// world replays decisions into replica counts: a scale-up becomes ready after the service's
// startup time, a scale-down takes effect at once.
type world struct {
	desired map[string]int32
	pending map[string][]arrival
}

type arrival struct {
	at    time.Time
	count int32
}

func newWorld(initial map[string]int32) *world {
	w := &world{desired: map[string]int32{}, pending: map[string][]arrival{}}
	for k, v := range initial {
		w.desired[k] = v
	}
	return w
}

func (w *world) ready(name string, now time.Time) int32 {
	r := w.desired[name]
	for _, a := range w.pending[name] {
		if now.Before(a.at) {
			r = min(r, a.count)
		}
	}
	return r
}

func (w *world) apply(d Decision, now time.Time, startup map[string]time.Duration) {
	for _, s := range d.Services {
		if s.Desired > w.desired[s.Name] {
			w.pending[s.Name] = append(w.pending[s.Name], arrival{at: now.Add(startup[s.Name]), count: w.desired[s.Name]})
		}
		w.desired[s.Name] = s.Desired
	}
}

func (w *world) observe(o *Observations, now time.Time) {
	for i := range o.Services {
		n := o.Services[i].Name
		o.Services[i].Desired, o.Services[i].Ready = w.desired[n], w.ready(n, now)
	}
}

// consistentLatencies sets the observed latencies to what the synthetic profile and the queueing
// model predict at the ready prefill replicas, as a world that behaves like the profile would.
func consistentLatencies(t *testing.T, o *Observations) {
	m := *synthProfile(t)
	so, _ := o.Service("Prefill")
	pc, _ := m.Prefill(o.InputTokens.V, 1)
	v, lambda, s := variability(o.ArrivalCV), o.RequestRate.V, pc.ServiceTime
	c := int(max(so.Ready, 1))
	o.TTFT = Known(s + meanWait(c, lambda, s, v))
	o.TTFTPercentile = Known(s + waitPercentile(erlangBAt(c, lambda*s), c, lambda, s, 0.9, v))
	itl := m.PredictITL(o.KVUsage.V, o.InputTokens.V+o.OutputTokens.V/2)
	o.ITL, o.ITLPercentile = Known(itl), Known(itl*1.2)
}

// TestSteadyLoadSettlesOnTwo is the target: a steady load one replica can exactly carry,
// plus 5%, settles on 2 prefill replicas and never oscillates over 1,000 intervals.
func TestSteadyLoadSettlesOnTwo(t *testing.T) {
	tests := []struct {
		name   string
		policy string
	}{
		{"profile only", steadyYAML},
		{"profile calibrated online", disaggYAML},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { steadyScenario(t, tc.policy) })
	}
}

func steadyScenario(t *testing.T, policy string) {
	p := mustPolicy(t, policy)
	rate := capacityOfOne(t) * 1.05
	st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0)})
	w := newWorld(reps(1, 1, 1))
	startup := map[string]time.Duration{}
	for i := range p.NumServices() {
		startup[p.ServiceAt(i).Name] = p.ServiceAt(i).StartupTime
	}
	var settled time.Time
	changes := 0
	prev := int32(1)
	for i := range 1000 {
		now := t0.Add(time.Duration(i) * p.Planning.Interval)
		obs := steady(now, rate, reps(1, 1, 1))
		w.observe(&obs, now)
		consistentLatencies(t, &obs)
		d := Plan(now, obs, p, &st)
		w.apply(d, now, startup)
		got, _ := d.Service("Prefill")
		if got.Desired != prev {
			changes++
			prev = got.Desired
			if settled.IsZero() && got.Desired == 2 {
				settled = now
			}
		}
	}
	if prev != 2 {
		t.Fatalf("prefill ended on %d replicas, want 2", prev)
	}
	if changes != 1 {
		t.Errorf("prefill changed %d times over 1000 intervals, want exactly once (1 -> 2)", changes)
	}
}
