package metrics_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/metrics/promtest"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// coverageWindow is the metrics window of the coverage test: 10 scrapes, as in the end-to-end
// test of cmd/tidal.
const coverageWindow = 10 * time.Second

// TestWindowCoverage holds a constant load while the faults that made rate() read low but valid
// (issue 13, defect 1) happen on the real Prometheus: a frontend restart (counter reset), the
// exporter's series removed for a few seconds, and a Prometheus restart, keeping or losing its
// data. Every windowed value the
// adapter reports as known must be the true one (within 5%); the rest must be missing with a
// coverage or reset reason, and the values must be known and right again within two windows.
func TestWindowCoverage(t *testing.T) {
	exp := promtest.NewExporterT(t)
	d := variant("llm-cover")
	d.RequestRate = 45
	exp.Set(d)
	prom := promtest.StartT(t, promtest.Config{Targets: []string{exp.Addr()}})
	a := metrics.New(testOptions())
	p := testPolicy(t, prom.URL(), "llama", d.Namespace, coverageWindow, "")
	settle := func(what string) {
		eventually(t, what, func() string { return diffObservations(expected(d), observe(t, a, p), 0.02) })
	}
	settle("steady load observed")
	tests := []struct {
		name   string
		reason string
		fault  func(t *testing.T)
	}{
		{"frontend restart: counter reset", metrics.ReasonReset, func(t *testing.T) {
			exp.ResetCounters(d.Model, d.Namespace)
		}},
		{"exporter series removed for 3s", metrics.ReasonCoverage, func(t *testing.T) {
			exp.Remove(d.Model, d.Namespace)
			<-time.After(3 * time.Second) // the outage itself, in real time
			exp.Set(d)                    // a new series: counters from zero
		}},
		{"prometheus restart (down 3s, data kept)", metrics.ReasonCoverage, func(t *testing.T) {
			if err := prom.Stop(); err != nil {
				t.Fatal(err)
			}
			<-time.After(3 * time.Second)
			if err := prom.Restart(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
		{"prometheus restart losing its data (down 3s)", metrics.ReasonCoverage, func(t *testing.T) {
			if err := prom.Stop(); err != nil {
				t.Fatal(err)
			}
			if err := prom.WipeData(); err != nil {
				t.Fatal(err)
			}
			<-time.After(3 * time.Second)
			if err := prom.Restart(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fault(t)
			r := watchRate(t, a, p, expected(d), 2*coverageWindow+2*time.Second)
			t.Logf("%s: %d reads, %d missing (%s), wrong %v; first right value %s after the fault ended",
				tc.name, r.reads, r.missing, r.reasons(), r.wrong, r.recovered)
			if len(r.wrong) > 0 {
				t.Errorf("known request rates or attainments off the true %g, %g, %g: %v", d.RequestRate,
					expected(d).TTFTAttained.V, expected(d).ITLAttained.V, r.wrong)
			}
			if r.missing == 0 || !strings.Contains(r.reasons(), tc.reason) {
				t.Errorf("missing reasons %q; want %q among them", r.reasons(), tc.reason)
			}
			if r.recovered < 0 {
				t.Errorf("no right value within two windows of the fault")
			}
			settle("steady again")
		})
	}
}

// rateWatch is what watchRate saw.
type rateWatch struct {
	reads, missing int
	why            map[string]int
	wrong          []string
	recovered      time.Duration // -1 if never
	// recovering is true until the first right value after a missing one.
	seenMissing bool
}

func (r rateWatch) reasons() string {
	var out []string
	for k, n := range r.why {
		out = append(out, fmt.Sprintf("%dx %s", n, k))
	}
	return strings.Join(out, "; ")
}

// watchRate reads the request rate every 250 ms for span, or until a second after the first
// right value that follows a missing one (recovered). A known value more than 5% off want's is
// wrong; so is a right value before anything went missing, as the fault must show. The
// attainment signals take the same coverage rule: a known one off want's by more than 5%, or
// known while the request rate is missing for coverage or a reset, is wrong too.
func watchRate(t *testing.T, a *metrics.Adapter, p policies.Policy, want planner.Observations, span time.Duration) rateWatch {
	t.Helper()
	r := rateWatch{why: map[string]int{}, recovered: -1}
	start := time.Now()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for time.Since(start) < span && (r.recovered < 0 || time.Since(start) < r.recovered+time.Second) {
		o := observe(t, a, p)
		v := o.RequestRate
		r.reads++
		r.checkAttained(o, want, start)
		switch {
		case !v.OK:
			r.missing++
			r.why[strings.SplitN(v.Missing, ":", 2)[0]]++
			r.seenMissing, r.recovered = true, -1
		case v.V < 0.95*want.RequestRate.V || v.V > 1.05*want.RequestRate.V:
			r.wrong = append(r.wrong, fmt.Sprintf("%.1f@%s", v.V, time.Since(start).Round(10*time.Millisecond)))
		case r.recovered < 0 && r.seenMissing:
			r.recovered = time.Since(start)
		}
		<-tick.C
	}
	return r
}

// checkAttained records an attainment signal that is known but off, or known while the request
// rate is missing because the window is not covered.
func (r *rateWatch) checkAttained(o, want planner.Observations, start time.Time) {
	uncovered := !o.RequestRate.OK &&
		(strings.HasPrefix(o.RequestRate.Missing, metrics.ReasonCoverage) || strings.HasPrefix(o.RequestRate.Missing, metrics.ReasonReset))
	for _, c := range []struct {
		name      string
		got, want planner.Value
	}{{"ttftAttained", o.TTFTAttained, want.TTFTAttained}, {"itlAttained", o.ITLAttained, want.ITLAttained}} {
		if c.got.OK && (uncovered || c.got.V < 0.95*c.want.V || c.got.V > 1.05*c.want.V) {
			r.wrong = append(r.wrong, fmt.Sprintf("%s %.3f (rate %+v)@%s", c.name, c.got.V, o.RequestRate,
				time.Since(start).Round(10*time.Millisecond)))
		}
	}
}
