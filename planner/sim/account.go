package sim

import "math"

// Misses counts SLO misses by cause. A request whose TTFT missed counts as TTFT whatever its ITL
// (the first thing that went wrong); ITL counts requests whose TTFT met the target but whose mean
// ITL did not; Rejected counts over-context requests.
type Misses struct {
	TTFT, ITL, Rejected int
}

// Total is the number of misses of every cause.
func (m Misses) Total() int { return m.TTFT + m.ITL + m.Rejected }

// ServiceResult is one service's share of a run.
type ServiceResult struct {
	Name string
	// GPUHours charges the service's replicas from request to release.
	GPUHours float64
	// ScaleEvents counts changes of the service's desired replicas.
	ScaleEvents int
}

// account keeps the run's books beyond the totals: misses by cause and by hour of arrival,
// per-service GPU time and scale events, and the attainment of the current series step.
type account struct {
	misses     Misses
	byHour     []Misses
	svcGPUs    []float64 // GPUs live per service now
	svcSeconds []float64 // GPU-seconds per service so far
	svcEvents  []int
	stepMet    int
	stepJudged int
}

func newAccount(services int) account {
	return account{svcGPUs: make([]float64, services), svcSeconds: make([]float64, services),
		svcEvents: make([]int, services)}
}

// miss records a miss of a request that arrived at arrival (seconds from the start).
func (a *account) miss(arrival float64, ttft, rejected bool) {
	h := max(int(arrival/3600), 0)
	for len(a.byHour) <= h {
		a.byHour = append(a.byHour, Misses{})
	}
	switch {
	case rejected:
		a.misses.Rejected++
		a.byHour[h].Rejected++
	case ttft:
		a.misses.TTFT++
		a.byHour[h].TTFT++
	default:
		a.misses.ITL++
		a.byHour[h].ITL++
	}
	a.stepJudged++
}

// met records a request that met the SLO.
func (a *account) met() {
	a.stepMet++
	a.stepJudged++
}

// charge accrues dt seconds of every service's live GPUs.
func (a *account) charge(dt float64) {
	for i, g := range a.svcGPUs {
		a.svcSeconds[i] += g * dt
	}
}

// takeStep returns the attainment of the requests judged since the last call (NaN if none) and
// how many were judged.
func (a *account) takeStep() (float64, int) {
	v, n := math.NaN(), a.stepJudged
	if n > 0 {
		v = float64(a.stepMet) / float64(n)
	}
	a.stepMet, a.stepJudged = 0, 0
	return v, n
}

// clone copies the account's slices (fork.go).
func (a account) clone() account {
	a.byHour = append([]Misses(nil), a.byHour...)
	a.svcGPUs = append([]float64(nil), a.svcGPUs...)
	a.svcSeconds = append([]float64(nil), a.svcSeconds...)
	a.svcEvents = append([]int(nil), a.svcEvents...)
	return a
}

// fill copies the books into a result.
func (a *account) fill(r *Result, svcs []svcState) {
	r.Misses = a.misses
	r.MissesByHour = append([]Misses(nil), a.byHour...)
	for i, s := range svcs {
		r.Services = append(r.Services, ServiceResult{Name: s.cfg.Name, GPUHours: a.svcSeconds[i] / 3600,
			ScaleEvents: a.svcEvents[i]})
	}
}
