package workload

import (
	"fmt"
	"math"
	"time"
)

// Request is one request of a per-request trace.
type Request struct {
	// Arrival is the offset of the request from the start of the trace.
	Arrival time.Duration
	// InputTokens and OutputTokens are the prompt and generated lengths in tokens.
	InputTokens, OutputTokens int
}

// Series is an evenly spaced series: Values[i] belongs to the interval starting at
// Start + i*Step. NaN marks a missing point.
type Series struct {
	Start  time.Duration
	Step   time.Duration
	Values []float64
}

// Time returns the start offset of point i.
func (s Series) Time(i int) time.Duration { return s.Start + time.Duration(i)*s.Step }

// lineError is a malformed-input error located at name:line.
func lineError(name string, line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...))
}

// Rate buckets requests into arrivals per second over consecutive intervals, starting at offset 0
// and ending with the interval that holds the last arrival. Requests with a negative arrival are
// ignored. It returns an error when interval is not positive.
func Rate(reqs []Request, interval time.Duration) (Series, error) {
	if interval <= 0 {
		return Series{}, fmt.Errorf("bucketing requests: interval %v is not positive", interval)
	}
	counts := Counts(reqs, interval)
	vals := make([]float64, len(counts))
	sec := interval.Seconds()
	for i, c := range counts {
		vals[i] = float64(c) / sec
	}
	return Series{Step: interval, Values: vals}, nil
}

// Counts returns the number of requests arriving in each interval [i*interval, (i+1)*interval),
// up to the interval holding the last arrival. Requests with a negative arrival are ignored; a
// non-positive interval yields nil.
func Counts(reqs []Request, interval time.Duration) []int {
	if interval <= 0 {
		return nil
	}
	last := time.Duration(-1)
	for _, r := range reqs {
		last = max(last, r.Arrival)
	}
	if last < 0 {
		return nil
	}
	counts := make([]int, int(last/interval)+1)
	for _, r := range reqs {
		if r.Arrival >= 0 {
			counts[int(r.Arrival/interval)]++
		}
	}
	return counts
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
