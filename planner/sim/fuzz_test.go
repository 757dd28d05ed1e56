package sim

import (
	"testing"
	"time"

	"github.com/tidal-planner/tidal/planner"
)

// byteScaler replays desired counts from fuzz input, one pair per call.
type byteScaler struct {
	b []byte
	i int
}

func (s *byteScaler) Cadence() Cadence {
	return Cadence{Interval: 15 * time.Second, Window: 30 * time.Second}
}

func (s *byteScaler) Scale(time.Time, planner.Observations) map[string]int32 {
	if s.i+1 >= len(s.b) {
		return nil
	}
	p, d := int32(s.b[s.i]%12), int32(s.b[s.i+1]%12)
	s.i += 2
	return map[string]int32{"prefill": p, "decode": d}
}

// FuzzRun drives the world with arbitrary workloads and scaling decisions: it must never panic,
// every request must end (met or missed), and the accounting must stay sane.
func FuzzRun(f *testing.F) {
	d := testDeployment(f, 1, 1)
	f.Add([]byte{0, 10, 200, 1, 5, 5, 0, 0, 9, 9}, []byte{3, 1, 0, 2, 7, 7, 1, 1})
	f.Add([]byte{255, 255, 255, 255, 0, 0, 0, 0}, []byte{11, 11, 0, 0, 11, 0})
	f.Fuzz(func(t *testing.T, reqBytes, scaleBytes []byte) {
		var wl Workload
		at := time.Duration(0)
		for i := 0; i+3 < len(reqBytes) && len(wl.Requests) < 2000; i += 4 {
			at += time.Duration(reqBytes[i]) * 50 * time.Millisecond
			in := int(reqBytes[i+1])*80 + int(reqBytes[i+2]%4)*5000 // up to ~35k: some over the context
			wl.Requests = append(wl.Requests, Request{Arrival: at, InputTokens: in, OutputTokens: int(reqBytes[i+3]) * 4})
		}
		wl.Duration = at
		r, err := Run(d, wl, &byteScaler{b: scaleBytes}, Options{ScrapeInterval: 5 * time.Second})
		if err != nil {
			t.Fatalf("valid input rejected: %v", err)
		}
		if r.Unfinished != 0 {
			t.Fatalf("%d requests never finished", r.Unfinished)
		}
		if r.Requests != len(wl.Requests) || r.Met > r.Requests || r.Attainment < 0 || r.Attainment > 1 {
			t.Fatalf("accounting: %d requests, %d met, attainment %v (workload %d)", r.Requests, r.Met, r.Attainment, len(wl.Requests))
		}
		if min := 2 * r.Simulated.Hours(); r.GPUHours < min-1e-9 {
			t.Fatalf("GPU-hours %v below the two always-on replicas' %v", r.GPUHours, min)
		}
	})
}
