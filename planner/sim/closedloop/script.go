package closedloop

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/sim/synth"
)

// Script is a scenario's load and world, parsed from script.txt:
//
//	duration 60m            # the span simulated (required)
//	seed 1                  # arrivals and token lengths (default 1)
//	tokens 3000 150         # mean input and output tokens, log-normal as the built-in day (default)
//	rate 0m-30m 10          # requests/s arriving over [0m, 30m); gaps carry no load
//	rate 30m-60m 30
//	world exact             # or: world prefill 0.8 decode 1.2 (engine speeds vs the profile)
//	history 3h              # warm the planner with 3 h of past load at the first rate (default none)
//	history 3h repeat       # ... or of this script's schedule repeated (a load that did this before)
//	start prefill 3         # replicas serving at time zero (a service name or role; default its min)
//
// Blank lines and # comments are ignored.
type Script struct {
	Duration time.Duration
	Seed     uint64
	// InputTokens and OutputTokens are the mean lengths of the log-normal token draws.
	InputTokens, OutputTokens float64
	Rates                     []Segment
	// PrefillSpeed and DecodeSpeed are the simulated engines' speeds relative to the profile the
	// planner reads (1: exact).
	PrefillSpeed, DecodeSpeed float64
	// History is the span of past load, at the first segment's rate, the planner is warmed with
	// (as tidal simulate warms it from the policy's forecast history); 0: cold.
	History time.Duration
	// RepeatHistory makes the history the script's schedule repeated back in time instead.
	RepeatHistory bool
	// Start holds the replicas serving at time zero per service (name or role), where stated.
	Start []Start
	file  string
}

// Start is one "start SERVICE N" statement, with where it was written.
type Start struct {
	Service  string
	Replicas int
	Line     int
}

// Segment is a constant arrival rate over [From, To).
type Segment struct {
	From, To time.Duration
	Rate     float64 // requests/s
}

// ParseScript parses a script's text; name (the file) prefixes every error with its line.
func ParseScript(text []byte, name string) (Script, error) {
	s := Script{Seed: 1, InputTokens: 3000, OutputTokens: 150, PrefillSpeed: 1, DecodeSpeed: 1, file: name}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		f := fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if err := s.apply(f, n); err != nil {
			return Script{}, fmt.Errorf("%s:%d: %w", name, n, err)
		}
	}
	if err := s.check(); err != nil {
		return Script{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// fields splits a line into words, dropping a # comment.
func fields(line string) []string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	return strings.Fields(line)
}

// apply reads one statement into s.
func (s *Script) apply(f []string, line int) error {
	var err error
	switch {
	case f[0] == "start" && len(f) == 3:
		var n int
		n, err = strconv.Atoi(f[2])
		if err == nil && n < 1 {
			err = fmt.Errorf("%d replicas: want at least 1", n)
		}
		s.Start = append(s.Start, Start{Service: f[1], Replicas: n, Line: line})
	case f[0] == "duration" && len(f) == 2:
		s.Duration, err = duration(f[1])
	case f[0] == "seed" && len(f) == 2:
		s.Seed, err = strconv.ParseUint(f[1], 10, 64)
	case f[0] == "tokens" && len(f) == 3:
		s.InputTokens, err = positive(f[1])
		if err == nil {
			s.OutputTokens, err = positive(f[2])
		}
	case f[0] == "rate" && len(f) == 3:
		err = s.addRate(f[1], f[2])
	case f[0] == "history" && (len(f) == 2 || len(f) == 3 && f[2] == "repeat"):
		s.History, err = duration(f[1])
		s.RepeatHistory = len(f) == 3
	case f[0] == "world" && len(f) == 2 && f[1] == "exact":
		s.PrefillSpeed, s.DecodeSpeed = 1, 1
	case f[0] == "world" && len(f) == 5 && f[1] == "prefill" && f[3] == "decode":
		s.PrefillSpeed, err = positive(f[2])
		if err == nil {
			s.DecodeSpeed, err = positive(f[4])
		}
	default:
		return fmt.Errorf("cannot read %q: want one of: duration D | seed N | tokens IN OUT | rate FROM-TO REQ/S | world exact | world prefill S decode S | history D [repeat] | start SERVICE N",
			strings.Join(f, " "))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", f[0], err)
	}
	return nil
}

// addRate parses "FROM-TO" and a rate and appends the segment; segments must follow each other.
func (s *Script) addRate(span, rate string) error {
	a, b, ok := strings.Cut(span, "-")
	if !ok {
		return fmt.Errorf("span %q: want FROM-TO, e.g. 0m-30m", span)
	}
	from, err := duration(a)
	if err != nil {
		return err
	}
	to, err := duration(b)
	if err != nil {
		return err
	}
	r, err := strconv.ParseFloat(strings.TrimSuffix(rate, "/s"), 64)
	if err != nil || r < 0 || math.IsInf(r, 0) {
		return fmt.Errorf("rate %q: want a finite number of requests/s >= 0", rate)
	}
	if to <= from {
		return fmt.Errorf("span %q: ends before it starts", span)
	}
	if n := len(s.Rates); n > 0 && from < s.Rates[n-1].To {
		return fmt.Errorf("span %q: starts before the previous one ends (%v)", span, s.Rates[n-1].To)
	}
	s.Rates = append(s.Rates, Segment{From: from, To: to, Rate: r})
	return nil
}

// check validates the whole script.
func (s Script) check() error {
	switch {
	case s.Duration <= 0:
		return fmt.Errorf("no duration (want a line such as: duration 60m)")
	case len(s.Rates) == 0:
		return fmt.Errorf("no load (want lines such as: rate 0m-30m 10)")
	case s.Rates[len(s.Rates)-1].To > s.Duration:
		return fmt.Errorf("the last rate ends at %v, after the duration %v", s.Rates[len(s.Rates)-1].To, s.Duration)
	}
	return nil
}

// duration parses a Go duration ("30m", "1h30m"); a bare 0 is allowed.
func duration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("duration %q: want a non-negative Go duration such as 90s or 30m", s)
	}
	return d, nil
}

func positive(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q: want a positive number", s)
	}
	return v, nil
}

// tokens is the script's token source: log-normal around the means with sigma 0.5, as
// scenario.DefaultTokens.
func (s Script) tokens() synth.LogNormal {
	return synth.LogNormal{InputMean: s.InputTokens, OutputMean: s.OutputTokens, InputSigma: 0.5,
		OutputSigma: 0.5, MaxInput: 14000, MaxOutput: 2000}
}

// LoadHistory is the past load the planner is warmed with, over History before the start at
// interval resolution, counted as the live backfill counts it (arrivals per interval, the mean
// token lengths of each interval's requests; NaN lengths where none arrived): the first segment's
// rate throughout, or the schedule repeated back in time with RepeatHistory. Empty when History is
// 0. It draws from a seed of its own, so the past is not the workload again.
func (s Script) LoadHistory(interval time.Duration) planner.LoadHistory {
	n := int(s.History / interval)
	if n <= 0 || interval <= 0 {
		return planner.LoadHistory{}
	}
	peak := 0.0
	for _, g := range s.Rates {
		peak = max(peak, g.Rate)
	}
	if peak == 0 {
		peak = 1
	}
	r := rand.New(rand.NewPCG(s.Seed, 0x6869_7374))
	tok := s.tokens()
	cnt, in, out := make([]float64, n), make([]float64, n), make([]float64, n)
	span := float64(n) * interval.Seconds()
	// Thinning (Lewis and Shedler, 1979) against the schedule's peak rate.
	for t := r.ExpFloat64() / peak; t < span; t += r.ExpFloat64() / peak {
		if r.Float64()*peak > s.pastRate(t-span) {
			continue
		}
		i := int(t / interval.Seconds())
		a, b := tok.Draw(r)
		cnt[i]++
		in[i] += float64(a)
		out[i] += float64(b)
	}
	h := planner.LoadHistory{}
	for i, c := range cnt {
		ia, oa := math.NaN(), math.NaN()
		if c > 0 {
			ia, oa = in[i]/c, out[i]/c
		}
		h.RequestRate = append(h.RequestRate, c/interval.Seconds())
		h.InputTokens = append(h.InputTokens, ia)
		h.OutputTokens = append(h.OutputTokens, oa)
	}
	return h
}

// pastRate is the history's arrival rate at t < 0 seconds.
func (s Script) pastRate(t float64) float64 {
	if !s.RepeatHistory {
		return s.Rates[0].Rate
	}
	d := s.Duration.Seconds()
	return s.rateAt(time.Duration(math.Mod(math.Mod(t, d)+d, d) * float64(time.Second)))
}

// rateAt is the schedule's rate at offset t (0 in a gap).
func (s Script) rateAt(t time.Duration) float64 {
	for _, g := range s.Rates {
		if t >= g.From && t < g.To {
			return g.Rate
		}
	}
	return 0
}

// Workload draws the script's requests: a Poisson process at each segment's rate, token lengths
// log-normal around the means (sigma 0.5, as scenario.DefaultTokens), all from the seed.
func (s Script) Workload() sim.Workload {
	r := rand.New(rand.NewPCG(s.Seed, 0x636c_6f73_6564))
	tok := s.tokens()
	wl := sim.Workload{Name: "closed-loop script", Duration: s.Duration}
	for _, g := range s.Rates {
		if g.Rate == 0 {
			continue
		}
		a, b := g.From.Seconds(), g.To.Seconds()
		for t := a + r.ExpFloat64()/g.Rate; t < b; t += r.ExpFloat64() / g.Rate {
			in, out := tok.Draw(r)
			wl.Requests = append(wl.Requests, sim.Request{Arrival: time.Duration(t * float64(time.Second)),
				InputTokens: in, OutputTokens: out})
		}
	}
	return wl
}
