package closedloop

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidal-planner/tidal/planner"
)

// subject is what a statement is about: one service's desired replicas, the decision's GPUs, or
// the queue the planner observed.
type subject struct {
	service     string
	gpus, queue bool
	label       string
}

// value is the subject's number at decision i; false when the service is not in it or the queue
// was not observed.
func (s subject) value(r Run, i int) (int, bool) {
	d := r.Decisions[i]
	switch {
	case s.gpus:
		return int(d.GPUs), true
	case s.queue:
		if i >= len(r.Observed) || !r.Observed[i].QueueDepth.OK {
			return 0, false
		}
		return int(r.Observed[i].QueueDepth.V), true
	}
	sd, ok := d.Service(s.service)
	return int(sd.Desired), ok
}

// window is the decisions a statement looks at: taken at from..to inclusive.
type window struct {
	from, to time.Duration
	set      bool
}

func (w window) has(d planner.Decision) bool { return at(d) >= w.from && at(d) <= w.to }

// String renders the window as " from A to B", or nothing when the statement has none.
func (w window) String() string {
	if !w.set {
		return ""
	}
	return fmt.Sprintf(" from %v to %v", w.from, w.to)
}

// stamp renders a decision's time as t+31m or t+31m30s.
func stamp(d planner.Decision) string {
	a := at(d)
	if a%time.Minute == 0 {
		return fmt.Sprintf("t+%dm", a/time.Minute)
	}
	return "t+" + a.String()
}

// op is a comparison.
type op string

func (o op) holds(a, b float64) bool {
	switch o {
	case ">=":
		return a >= b
	case "<=":
		return a <= b
	case "==":
		return a == b
	case "<":
		return a < b
	case ">":
		return a > b
	}
	return false
}

func parseOp(w string, allowed ...string) (op, error) {
	if !slices.Contains(allowed, w) {
		return "", fmt.Errorf("expected one of %s, got %q", strings.Join(allowed, " "), w)
	}
	return op(w), nil
}

// summary: attainment|gpu-hours|scale-events OP NUMBER[%].
func (ps *parser) summary(metric string) (func(Run) error, error) {
	o, err := parseOp(ps.next(), ">=", "<=", "==", "<", ">")
	if err != nil {
		return nil, err
	}
	w := ps.next()
	pct := strings.HasSuffix(w, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(w, "%"), 64)
	if err != nil {
		return nil, fmt.Errorf("expected a number, got %q", w)
	}
	if pct {
		if metric != "attainment" {
			return nil, fmt.Errorf("only attainment takes a percentage")
		}
		v /= 100
	}
	if err := ps.end(); err != nil {
		return nil, err
	}
	return func(r Run) error {
		var got float64
		var show string
		switch metric {
		case "attainment":
			got, show = r.Result.Attainment, fmt.Sprintf("%.3f%%", 100*r.Result.Attainment)
		case "gpu-hours":
			got, show = r.Result.GPUHours, fmt.Sprintf("%.3f", r.Result.GPUHours)
		default:
			got, show = float64(r.Result.ScaleEvents), strconv.Itoa(r.Result.ScaleEvents)
		}
		if !o.holds(got, v) {
			return fmt.Errorf("%s was %s", metric, show)
		}
		return nil
	}, nil
}

// never: SUBJECT never above|below N [from A to B].
func (ps *parser) never(s subject) (func(Run) error, error) {
	dir := ps.next()
	if dir != "above" && dir != "below" {
		return nil, fmt.Errorf("expected above or below after never, got %q", dir)
	}
	n, err := ps.int()
	if err != nil {
		return nil, err
	}
	win, err := ps.window()
	if err != nil {
		return nil, err
	}
	if err := ps.end(); err != nil {
		return nil, err
	}
	return func(r Run) error {
		seen := 0
		var bad []string
		for i, d := range r.Decisions {
			v, ok := s.value(r, i)
			if !ok || !win.has(d) {
				continue
			}
			seen++
			if (dir == "above" && v > n) || (dir == "below" && v < n) {
				bad = append(bad, fmt.Sprintf("%d at %s", v, stamp(d)))
			}
		}
		if seen == 0 {
			return fmt.Errorf("no decision for %s%s", s.label, win)
		}
		if len(bad) > 0 {
			return fmt.Errorf("%s was %s %d %d times: %s", s.label, dir, n, len(bad), first(bad))
		}
		return nil
	}, nil
}

// reaches: SUBJECT reaches >=|<= N within SPAN after T; the decisions taken in (T, T+SPAN].
func (ps *parser) reaches(s subject) (func(Run) error, error) {
	o, err := parseOp(ps.next(), ">=", "<=")
	if err != nil {
		return nil, err
	}
	n, err := ps.int()
	if err != nil {
		return nil, err
	}
	if err := ps.word("within"); err != nil {
		return nil, err
	}
	span, err := ps.duration()
	if err != nil {
		return nil, err
	}
	if err := ps.word("after"); err != nil {
		return nil, err
	}
	t0, err := ps.duration()
	if err != nil {
		return nil, err
	}
	if err := ps.end(); err != nil {
		return nil, err
	}
	return reachCheck(s, o, n, t0, span), nil
}

// reachCheck passes when a decision in (t0, t0+span] has s's value meeting o n.
func reachCheck(s subject, o op, n int, t0, span time.Duration) func(Run) error {
	return func(r Run) error {
		var seen []string
		for i, d := range r.Decisions {
			v, ok := s.value(r, i)
			if !ok || at(d) <= t0 || at(d) > t0+span {
				continue
			}
			if o.holds(float64(v), float64(n)) {
				return nil
			}
			seen = append(seen, strconv.Itoa(v))
		}
		if len(seen) == 0 {
			return fmt.Errorf("no decision for %s in (%v, %v]", s.label, t0, t0+span)
		}
		return fmt.Errorf("%s took %s in (%v, %v]", s.label, strings.Join(seen, " "), t0, t0+span)
	}
}

// first lists up to five items.
func first(xs []string) string {
	if len(xs) > 5 {
		return strings.Join(xs[:5], ", ") + ", ..."
	}
	return strings.Join(xs, ", ")
}
