package forecast

import (
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestGapMask(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		values []float64
		minRun int
		want   []bool
	}{
		{"short run is data", []float64{1, 0, 0, 2}, 3, []bool{false, false, false, false}},
		{"long run is a gap", []float64{1, 0, 0, 0, 2}, 3, []bool{false, true, true, true, false}},
		{"gap at the end", []float64{1, 0, 0, 0}, 3, []bool{false, true, true, true}},
		{"invalid values", []float64{nan, -1, math.Inf(1), 3}, 0, []bool{true, true, true, false}},
		{"every zero", []float64{0, 4, 0}, 1, []bool{true, false, true}},
		{"disabled", []float64{0, 0, 0}, 0, []bool{false, false, false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, GapMask(tc.values, tc.minRun)); diff != "" {
				t.Errorf("GapMask (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScore(t *testing.T) {
	actual := []float64{10, 20, 0, 40}
	fc := []Point{{10, 8, 12}, {10, 5, 15}, {5, 0, 9}, {math.NaN(), 0, 0}}
	skip := []bool{false, false, false, false}
	got := Score(actual, fc, skip, 2, 0.9)
	// By hand: errors 0, 10, 5; sMAPE terms 0, 200*10/30, 200*5/5; inside: yes, no, yes;
	// under upper: yes, no, yes; pinball: 0.1*2, 0.9*5, 0.1*9.
	want := Scores{
		N: 3, SMAPE: (0 + 200.0/3 + 200) / 3, MASE: 15.0 / 3 / 2,
		Inside: 2.0 / 3, UnderUpper: 2.0 / 3, Pinball: (0.2 + 4.5 + 0.9) / 3,
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("Score (-want +got):\n%s", diff)
	}
	if got := Score(actual, fc, []bool{true, true, true, true}, 1, 0.9); got.N != 0 {
		t.Errorf("all skipped: N = %d", got.N)
	}
}

func TestNaiveScale(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		skip   []bool
		want   float64
	}{
		{"plain", []float64{1, 3, 2, 6}, nil, (2 + 1 + 4) / 3.0},
		{"skips pairs with a skipped point", []float64{1, 3, 100, 4}, []bool{false, false, true, false}, 2},
		{"constant falls back to 1", []float64{5, 5, 5}, nil, 1},
		{"empty", nil, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NaiveScale(tc.values, tc.skip); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("NaiveScale = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReplayAlignsTargets(t *testing.T) {
	vals := []float64{1, 2, 3, 4, 5}
	got := Replay(mustNew(t, MethodLast, Options{}), vals, 2, 0.8)
	if !math.IsNaN(got[0].Value) || !math.IsNaN(got[1].Value) {
		t.Errorf("targets before the horizon have forecasts: %+v", got[:2])
	}
	for t2 := 2; t2 < len(vals); t2++ {
		if got[t2].Value != vals[t2-2] {
			t.Errorf("forecast of point %d = %v, want last value two steps earlier %v", t2, got[t2].Value, vals[t2-2])
		}
	}
}

// TestMSmallAutoBeatsBaselines replays auto on the real ServeGen m-small aggregate (derived from
// ../shared, kept in testdata) at a one-hour horizon: with its strong daily cycle, auto's sMAPE must beat both
// baselines, and its q0.9 upper bound must cover 85-95% of actuals.
func TestMSmallAutoBeatsBaselines(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 2,016 points of a real trace")
	}
	vals := readMSmall(t)
	const P, H = 144, 6
	skip := GapMask(vals, 1) // the aggregate of 43 clients is 0 only when collection failed
	for i := range P {
		skip[i] = true
	}
	scale := NaiveScale(vals, skip)
	score := func(m string) Scores {
		fc := Replay(mustNew(t, m, Options{Period: P, GapSteps: 1}), vals, H, 0.8)
		return Score(vals, fc, skip, scale, 0.9)
	}
	auto, last, snaive := score(MethodAuto), score(MethodLast), score(MethodSeasonalNaive)
	if auto.SMAPE >= min(last.SMAPE, snaive.SMAPE) {
		t.Errorf("auto sMAPE %.2f, last %.2f, seasonal naive %.2f: auto should be best", auto.SMAPE, last.SMAPE, snaive.SMAPE)
	}
	if auto.UnderUpper < 0.85 || auto.UnderUpper > 0.95 {
		t.Errorf("auto's q0.9 upper bound covers %.1f%%, want 85-95%%", 100*auto.UnderUpper)
	}
}

// mSmallAggregate is ServeGen m-small's aggregate request rate: the sum over its 43 clients of
// each 600-s window's rate, rounded to 0.01 req/s (source and derivation: ../testdata/forecast/README.md).
const mSmallAggregate = "../testdata/forecast/m-small-aggregate.csv"

// readMSmall reads the aggregate's 2,016 values (header timestamp,value; timestamps 0, 600, ...).
func readMSmall(t *testing.T) []float64 {
	t.Helper()
	b, err := os.ReadFile(mSmallAggregate)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2017 || lines[0] != "timestamp,value" {
		t.Fatalf("%s: %d lines headed %q, want 2,017 headed \"timestamp,value\"", mSmallAggregate, len(lines), lines[0])
	}
	vals := make([]float64, 0, 2016)
	for i, line := range lines[1:] {
		ts, v, _ := strings.Cut(line, ",")
		rate, err := strconv.ParseFloat(v, 64)
		if err != nil || ts != strconv.Itoa(600*i) {
			t.Fatalf("%s:%d: %q, want \"%d,<rate>\" (%v)", mSmallAggregate, i+2, line, 600*i, err)
		}
		vals = append(vals, rate)
	}
	return vals
}
