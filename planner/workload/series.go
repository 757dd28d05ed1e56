package workload

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// ReadSeries reads an evenly spaced series from CSV with header timestamp,value: timestamp in
// seconds (any origin, increasing), value a number or empty for missing. The step is the smallest
// gap between consecutive timestamps; skipped steps become NaN. Every timestamp must sit on the
// grid first + k*step. name labels errors.
func ReadSeries(r io.Reader, name string) (Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 2
	header, err := cr.Read()
	if err != nil {
		return Series{}, fmt.Errorf("reading series %s header: %w", name, err)
	}
	if strings.TrimSpace(strings.TrimPrefix(header[0], "\ufeff")) != "timestamp" || strings.TrimSpace(header[1]) != "value" {
		return Series{}, lineError(name, 1, "header %q, want \"timestamp,value\"", strings.Join(header, ","))
	}
	var ts, vs []float64
	var lines []int
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Series{}, fmt.Errorf("reading series %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		t, v, err := parsePoint(rec)
		if err != nil {
			return Series{}, lineError(name, line, "%v", err)
		}
		if len(ts) > 0 && t <= ts[len(ts)-1] {
			return Series{}, lineError(name, line, "timestamp %v does not increase", t)
		}
		ts, vs, lines = append(ts, t), append(vs, v), append(lines, line)
	}
	return grid(ts, vs, lines, name)
}

// parsePoint parses one "timestamp,value" record; an empty value is NaN.
func parsePoint(rec []string) (float64, float64, error) {
	t, err := strconv.ParseFloat(strings.TrimSpace(rec[0]), 64)
	if err != nil || !finite(t) {
		return 0, 0, fmt.Errorf("timestamp %q is not a finite number", rec[0])
	}
	s := strings.TrimSpace(rec[1])
	if s == "" {
		return t, math.NaN(), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("value %q is not a number", rec[1])
	}
	return t, v, nil
}

// grid places the points on an even grid, filling skipped steps with NaN.
func grid(ts, vs []float64, lines []int, name string) (Series, error) {
	if len(ts) == 0 {
		return Series{}, nil
	}
	if len(ts) == 1 {
		return Series{Start: seconds(ts[0]), Step: time.Second, Values: vs}, nil
	}
	step := math.Inf(1)
	for i := 1; i < len(ts); i++ {
		step = min(step, ts[i]-ts[i-1])
	}
	n := int(math.Round((ts[len(ts)-1]-ts[0])/step)) + 1
	if n > 100*len(ts)+1000 {
		return Series{}, fmt.Errorf("series %s: step %gs leaves the grid mostly empty (%d slots for %d points)", name, step, n, len(ts))
	}
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = math.NaN()
	}
	for i, t := range ts {
		k := (t - ts[0]) / step
		if math.Abs(k-math.Round(k)) > 1e-6*math.Max(1, k) {
			return Series{}, lineError(name, lines[i], "timestamp %v is off the %gs grid", t, step)
		}
		vals[int(math.Round(k))] = vs[i]
	}
	return Series{Start: seconds(ts[0]), Step: seconds(step), Values: vals}, nil
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }
