package metrics

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/tidal-planner/tidal/planner"
)

// TestFractionAtOrBelow pins the interpolation on hand-computed cases: cumulative rates
// 0 <= 0.1 s: 0, <= 0.2: 40, <= 0.4: 80, <= 1: 90, +Inf: 100 (per second; only ratios matter).
func TestFractionAtOrBelow(t *testing.T) {
	inf := math.Inf(1)
	base := func() []bucketRate {
		return []bucketRate{{1, 90}, {0.2, 40}, {inf, 100}, {0.4, 80}, {0.1, 0}} // unsorted on purpose
	}
	tests := []struct {
		name    string
		buckets []bucketRate
		target  float64
		want    planner.Value
	}{
		{"on a bound", base(), 0.2, planner.Known(0.4)},
		// between 0.2 (40) and 0.4 (80), the tail's rate measured over (0.1, 0.2] (100 above 0.1,
		// 60 above 0.2): above 0.3 are 60 x 60/100 = 36 (planner.WithinTarget), so 64 within
		{"between two bounds", base(), 0.3, planner.Known(0.64)},
		// below the lowest bound 0.1 the lower edge is 0 with count 0: 0 x ... = 0
		{"below the lowest bound", base(), 0.05, planner.Known(0)},
		// the +Inf bucket's 10 count as misses
		{"above the highest finite bound", base(), 5, planner.Known(0.9)},
		// lowest bucket (0, 0.5] holds 50 of 100: at 0.25, half of it
		{"inside the lowest bucket, from 0", []bucketRate{{0.5, 50}, {inf, 100}}, 0.25, planner.Known(0.25)},
		// 0.4's 70 below 0.2's 80 (scrapes straddled an update): carried forward to 80
		{"non-monotonic buckets", []bucketRate{{0.2, 80}, {0.4, 70}, {inf, 100}}, 0.4, planner.Known(0.8)},
		{"everything within", []bucketRate{{0.1, 5}, {0.2, 5}, {inf, 5}}, 0.1, planner.Known(1)},
		{"no observations", []bucketRate{{0.1, 0}, {inf, 0}}, 0.1, planner.Unknown(ReasonNaN)},
		{"NaN count", []bucketRate{{0.1, 0}, {inf, math.NaN()}}, 0.1, planner.Unknown(ReasonNaN)},
		{"no +Inf bucket", []bucketRate{{0.1, 1}, {0.2, 2}}, 0.1, planner.Unknown(ReasonUnexpected)},
		{"only the +Inf bucket", []bucketRate{{inf, 3}}, 0.1, planner.Unknown(ReasonUnexpected)},
		{"duplicate bound", []bucketRate{{0.1, 1}, {0.1, 2}, {inf, 3}}, 0.1, planner.Unknown(ReasonAmbiguous)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fractionAtOrBelow(tt.buckets, tt.target)
			if !sameValue(got, tt.want) {
				t.Errorf("fractionAtOrBelow(%v) = %+v, want %+v", tt.target, got, tt.want)
			}
		})
	}
}

// sameValue compares a Value with a wanted one: both known and within 1e-12, or both missing
// with the wanted reason a prefix of the got one.
func sameValue(got, want planner.Value) bool {
	if got.OK != want.OK {
		return false
	}
	if !got.OK {
		return strings.HasPrefix(got.Missing, want.Missing)
	}
	return math.Abs(got.V-want.V) <= 1e-12
}

// TestAttainedFromQueryResults checks how a query's samples become an attainment value: buckets
// by le (the default query), the fraction itself (an override), and results that cannot be read.
func TestAttainedFromQueryResults(t *testing.T) {
	smp := func(v float64, labels ...string) *model.Sample {
		m := model.Metric{}
		for i := 0; i+1 < len(labels); i += 2 {
			m[model.LabelName(labels[i])] = model.LabelValue(labels[i+1])
		}
		return &model.Sample{Metric: m, Value: model.SampleValue(v)}
	}
	tests := []struct {
		name string
		v    model.Value
		want planner.Value
	}{
		{"buckets by le", model.Vector{smp(30, "le", "0.2"), smp(60, "le", "0.4"), smp(100, "le", "+Inf")}, planner.Known(0.45)},
		{"the fraction itself", model.Vector{smp(0.97)}, planner.Known(0.97)},
		{"a scalar fraction", &model.Scalar{Value: 0.5}, planner.Known(0.5)},
		{"a fraction above 1", model.Vector{smp(1.5)}, planner.Unknown(ReasonUnexpected + ": 1.5 is not a fraction")},
		{"NaN fraction", model.Vector{smp(math.NaN())}, planner.Unknown(ReasonNaN)},
		{"le that is not a number", model.Vector{smp(1, "le", "fast"), smp(2, "le", "+Inf")}, planner.Unknown(ReasonUnexpected + `: le="fast"`)},
		{"buckets and a fraction mixed", model.Vector{smp(1, "le", "0.3"), smp(2, "le", "+Inf"), smp(0.5)}, planner.Unknown(ReasonAmbiguous)},
		{"no series", model.Vector{}, planner.Unknown(ReasonEmpty)},
		{"a matrix", model.Matrix{}, planner.Unknown(ReasonUnexpected)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// target 0.3: between 0.2 (30) and 0.4 (60) -> 45 of 100
			got := parse(tt.v, SignalTTFTAttained).attained(0.3, time.Minute)
			if !sameValue(got, tt.want) {
				t.Errorf("attained = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestFillAttained checks how a range result of an attainment signal becomes a backfilled
// series: buckets interpolated at every step, an override's fraction copied, and the steps
// that cannot be known left NaN.
func TestFillAttained(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(i int) model.Time {
		return model.TimeFromUnixNano(t0.Add(time.Duration(i) * time.Second).UnixNano())
	}
	stream := func(le string, vs ...float64) *model.SampleStream {
		m := model.Metric{}
		if le != "" {
			m[labelLe] = model.LabelValue(le)
		}
		ss := &model.SampleStream{Metric: m}
		for i, v := range vs {
			if !math.IsNaN(v) {
				ss.Values = append(ss.Values, model.SamplePair{Timestamp: at(i), Value: model.SampleValue(v)})
			}
		}
		return ss
	}
	nan := math.NaN()
	tests := []struct {
		name    string
		m       model.Matrix
		want    []float64
		wantErr string
	}{
		// target 0.3, between 0.2 and 0.4: step 0 -> (30 + 30/2)/100; step 1 no observations;
		// step 2 lacks its +Inf point
		{"buckets", model.Matrix{stream("0.2", 30, 0, 5), stream("0.4", 60, 0, 10), stream("+Inf", 100, 0, nan)},
			[]float64{0.45, nan, nan}, ""},
		{"an override's fraction, out of range dropped", model.Matrix{stream("", 0.9, 1.2, 0.95)}, []float64{0.9, nan, 0.95}, ""},
		{"two fractions", model.Matrix{stream("", 0.9), stream("", 0.8)}, nil, ReasonAmbiguous},
		{"a bad le", model.Matrix{stream("slow", 1), stream("+Inf", 2)}, nil, ReasonUnexpected},
		{"nothing in range", model.Matrix{}, []float64{nan, nan, nan}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Series{Start: t0, Step: time.Second, Values: []float64{nan, nan, nan}}
			err := fillAttained(out, tt.m, 0.3)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("fillAttained error = %v, want %q...", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				if g := out.Values[i]; math.IsNaN(w) != math.IsNaN(g) || !math.IsNaN(w) && math.Abs(g-w) > 1e-12 {
					t.Errorf("point %d = %v, want %v (all %v)", i, g, w, out.Values)
				}
			}
		})
	}
}
