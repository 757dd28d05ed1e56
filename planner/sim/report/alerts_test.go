package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/planner/sim"
)

// minutes builds a one-minute series from runs of (steps, attainment, requests judged per step).
func minutes(runs ...[3]float64) sim.Series {
	s := sim.Series{Step: time.Minute}
	for _, r := range runs {
		for range int(r[0]) {
			s.Attainment, s.Judged = append(s.Attainment, r[1]), append(s.Judged, r[2])
		}
	}
	return s
}

func TestBurnAlerts(t *testing.T) {
	page, ticket := BurnRules[0], BurnRules[1]
	// Alternating minutes: 99 requests that meet, then 1 that misses: half of the time burns,
	// 1% of the requests.
	var trickle [][3]float64
	for range 60 {
		trickle = append(trickle, [3]float64{1, 1, 99}, [3]float64{1, 0, 1})
	}
	tests := []struct {
		name      string
		series    sim.Series
		objective float64
		rule      BurnRule
		want      Firing
	}{
		{"every request met", minutes([3]float64{120, 1, 10}), 0.99, page, Firing{}},
		{"a quarter missed from the start", minutes([3]float64{30, 0.75, 10}), 0.99, page,
			Firing{Episodes: 1, Duration: 30 * time.Minute}},
		// After a calm hour, k minutes of misses make the hour's ratio k/60: above 14.4% from
		// k = 9 to the burst's end at 20, then 4 more minutes while the 5-minute window still
		// holds a miss.
		{"a 20-minute outage after a calm hour", minutes([3]float64{60, 1, 10}, [3]float64{20, 0, 10}, [3]float64{60, 1, 10}),
			0.99, page, Firing{Episodes: 1, Duration: 16 * time.Minute}},
		{"two outages, two pages", minutes([3]float64{60, 1, 10}, [3]float64{20, 0, 10}, [3]float64{120, 1, 10},
			[3]float64{20, 0, 10}, [3]float64{60, 1, 10}), 0.99, page, Firing{Episodes: 2, Duration: 32 * time.Minute}},
		{"1.5625% missed is a 1.6x burn at 99%", minutes([3]float64{90, 1 - 1.0/64, 64}), 0.99, page, Firing{}},
		{"and a 15.6x burn at 99.9%", minutes([3]float64{90, 1 - 1.0/64, 64}), 0.999, page,
			Firing{Episodes: 1, Duration: 90 * time.Minute}},
		{"the ticket: 10% missed for 3 hours", minutes([3]float64{180, 0.9, 10}), 0.99, ticket,
			Firing{Episodes: 1, Duration: 180 * time.Minute}},
		{"request-weighted: half of the minutes, 1% of the requests", minutes(trickle...), 0.99, page, Firing{}},
		{"no requests, no alert", minutes([3]float64{60, math.NaN(), 0}), 0.99, page, Firing{}},
		{"no objective, no alert", minutes([3]float64{30, 0, 10}), 0, page, Firing{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, BurnAlerts(tc.series, tc.objective, tc.rule)); diff != "" {
				t.Errorf("BurnAlerts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTableReportsBurnAlerts(t *testing.T) {
	es := []Entry{
		{Planner: "tidal", Result: sim.Result{Series: minutes([3]float64{60, 1, 10}, [3]float64{20, 0, 10}, [3]float64{60, 1, 10})}},
		{Planner: "static", Result: sim.Result{Series: minutes([3]float64{140, 1, 10})}},
	}
	tests := []struct {
		name      string
		objective float64
		want      []string // lines of the alerts section
	}{
		{"objective 99%", 0.99, []string{
			"burn-rate alerts at objective 99% (alerts.yaml's rules on each step's requests; times fired, time firing): pages 14.4x over 1h and 5m; tickets 6x over 6h and 30m",
			// The ticket: from the outage's 4th minute (4 of the run's 64 minutes missed, 6.25% >
			// 6%) to 28 minutes after it; at 29 the half hour holds one missed minute in 30.
			"  tidal: pages 1 (16m), tickets 1 (45m)",
			"  static: pages 0 (0m), tickets 0 (0m)",
		}},
		{"no objective: no section", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Table(&buf, Workload{Name: "w", Objective: tc.objective}, es); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.Split(buf.String(), "\n") {
				if strings.HasPrefix(l, "burn-rate alerts") || strings.Contains(l, ": pages ") {
					got = append(got, l)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("alerts section (-want +got):\n%s", diff)
			}
		})
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0m", 5 * time.Minute: "5m", 10 * time.Minute: "10m",
		time.Hour: "1h", 90 * time.Minute: "1h30m", 6 * time.Hour: "6h", 29*time.Second + time.Minute: "1m"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestJSONReportsBurnAlerts(t *testing.T) {
	es := []Entry{{Planner: "tidal", Result: sim.Result{Series: minutes([3]float64{60, 1, 10}, [3]float64{20, 0, 10}, [3]float64{60, 1, 10})}}}
	tests := []struct {
		name      string
		objective float64
		want      any // the result's "alerts"
	}{
		{"objective 99%", 0.99, map[string]any{"pages": 1.0, "page_minutes": 16.0, "tickets": 1.0, "ticket_minutes": 45.0}},
		{"no objective: absent", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := JSON(&buf, Workload{Name: "w", Objective: tc.objective}, es); err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Results []map[string]any `json:"results"`
			}
			if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, doc.Results[0]["alerts"]); diff != "" {
				t.Errorf("alerts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarkdownReportsBurnAlerts(t *testing.T) {
	es := []Entry{
		{Planner: "tidal", Result: sim.Result{Attainment: 0.857, GPUHours: 2, Series: minutes([3]float64{60, 1, 10}, [3]float64{20, 0, 10}, [3]float64{60, 1, 10})}},
		{Planner: "static", Result: sim.Result{Attainment: 1, GPUHours: 3, Series: minutes([3]float64{140, 1, 10})}},
	}
	tests := []struct {
		name      string
		objective float64
		want      []string // the table's lines
	}{
		{"objective 99%: a column", 0.99, []string{
			"| planner | SLO attainment | GPU-hours | GPU-hours per service | misses TTFT / ITL / rejected | TTFT p90 / p99 ms | scale events | pages / tickets |",
			"|---|---:|---:|---|---:|---:|---:|---:|",
			"| tidal | 85.70% | 2.0 |  | 0 / 0 / 0 | 0.00 / 0.00 | 0 | 1 (16m) / 1 (45m) |",
			"| static | 100.00% | 3.0 |  | 0 / 0 / 0 | 0.00 / 0.00 | 0 | 0 (0m) / 0 (0m) |",
		}},
		{"no objective: no column", 0, []string{
			"| planner | SLO attainment | GPU-hours | GPU-hours per service | misses TTFT / ITL / rejected | TTFT p90 / p99 ms | scale events |",
			"|---|---:|---:|---|---:|---:|---:|",
			"| tidal | 85.70% | 2.0 |  | 0 / 0 / 0 | 0.00 / 0.00 | 0 |",
			"| static | 100.00% | 3.0 |  | 0 / 0 / 0 | 0.00 / 0.00 | 0 |",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Markdown(&buf, Workload{Name: "w", Objective: tc.objective}, es); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.Split(buf.String(), "\n") {
				if strings.HasPrefix(l, "|") {
					got = append(got, l)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Markdown table (-want +got):\n%s", diff)
			}
		})
	}
}
