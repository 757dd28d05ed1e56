package closedloop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

// Expectations are a scenario's checked statements, parsed from expect.txt.
type Expectations struct {
	File string
	List []Expectation
}

// Expectation is one statement of expect.txt.
type Expectation struct {
	Line int
	Text string
	// Pending marks a statement that states what must happen but cannot hold yet (a signal the
	// world does not produce, a behaviour not built): it must fail today, and once it holds the
	// check fails until the pending mark is removed, so it never passes silently.
	Pending bool
	check   func(Run) error
}

// Check returns nil when the run satisfies the expectation, else an error naming the file, the
// line, the statement and what the run showed instead. A pending statement is checked the other
// way round: an error when it holds (remove the mark), nil when it fails as expected.
func (e Expectation) Check(file string, r Run) error {
	err := e.check(r)
	switch {
	case e.Pending && err == nil:
		return fmt.Errorf("%s:%d: %q holds now: remove its pending mark", file, e.Line, e.Text)
	case e.Pending:
		return nil
	case err != nil:
		return fmt.Errorf("%s:%d: %q: %w", file, e.Line, e.Text, err)
	}
	return nil
}

// CheckAll checks every expectation and joins the failures.
func (x Expectations) CheckAll(r Run) error {
	var errs []error
	for _, e := range x.List {
		errs = append(errs, e.Check(x.File, r))
	}
	return errors.Join(errs...)
}

// PendingReport lists the pending statements with what the run showed, for the test's log.
func (x Expectations) PendingReport(r Run) []string {
	var out []string
	for _, e := range x.List {
		if e.Pending {
			if err := e.check(r); err != nil {
				out = append(out, fmt.Sprintf("%s:%d: pending %q: %v", x.File, e.Line, e.Text, err))
			}
		}
	}
	return out
}

// Grammar is the statements ParseExpectations understands, one per line (# starts a comment;
// SUBJECT is a service name or its role prefill/decode/aggregated (its desired replicas), gpus
// (the decision's GPUs) or queue (the requests without a first token the planner observed);
// times and spans are Go durations from the scenario's start; [from A to B] limits a statement to
// the decisions taken at A..B inclusive):
const Grammar = `attainment|gpu-hours|scale-events >=|<=|==|<|> NUMBER[%]
SUBJECT never above|below N [from A to B]
SUBJECT reaches >=|<= N within SPAN after T
reason CODE [on SUBJECT] [with value OP X] never appears [from A to B]
reason CODE [on SUBJECT] [with value OP X] appears at most|at least|exactly N times [from A to B]
no scale-down within SPAN of a scale-up [on SUBJECT]
pending STATEMENT (must fail today; say why in a comment above it)`

// ParseExpectations parses expect.txt's text against the scenario's policy (its service names and
// roles); every error names file:line and the grammar.
func ParseExpectations(text []byte, file string, p policies.Policy) (Expectations, error) {
	x := Expectations{File: file}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		f := fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		pending := f[0] == "pending"
		if pending {
			f = f[1:]
			if len(f) == 0 {
				return Expectations{}, fmt.Errorf("%s:%d: pending needs a statement", file, n)
			}
		}
		ps := parser{f: f, p: p}
		c, err := ps.statement()
		if err != nil {
			return Expectations{}, fmt.Errorf("%s:%d: %q: %w; statements are:\n%s", file, n, strings.Join(f, " "), err, Grammar)
		}
		x.List = append(x.List, Expectation{Line: n, Text: strings.Join(f, " "), Pending: pending, check: c})
	}
	if len(x.List) == 0 {
		return Expectations{}, fmt.Errorf("%s: no expectations: a scenario must state what must happen", file)
	}
	return x, nil
}

// parser reads one statement's words.
type parser struct {
	f []string
	i int
	p policies.Policy
}

func (ps *parser) next() string {
	if ps.i >= len(ps.f) {
		return ""
	}
	ps.i++
	return ps.f[ps.i-1]
}

func (ps *parser) peek() string {
	if ps.i >= len(ps.f) {
		return ""
	}
	return ps.f[ps.i]
}

// word consumes the expected words in order.
func (ps *parser) word(ws ...string) error {
	for _, w := range ws {
		if got := ps.next(); got != w {
			return fmt.Errorf("expected %q, got %q", w, got)
		}
	}
	return nil
}

// end fails when words are left.
func (ps *parser) end() error {
	if ps.i < len(ps.f) {
		return fmt.Errorf("unexpected %q", strings.Join(ps.f[ps.i:], " "))
	}
	return nil
}

func (ps *parser) int() (int, error) {
	w := ps.next()
	n, err := strconv.Atoi(w)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("expected a whole number >= 0, got %q", w)
	}
	return n, nil
}

func (ps *parser) duration() (time.Duration, error) { return duration(ps.next()) }

// window reads an optional "from A to B".
func (ps *parser) window() (window, error) {
	w := window{to: 1<<63 - 1}
	if ps.peek() != "from" {
		return w, nil
	}
	ps.next()
	var err error
	if w.from, err = ps.duration(); err != nil {
		return w, err
	}
	if err := ps.word("to"); err != nil {
		return w, err
	}
	if w.to, err = ps.duration(); err != nil {
		return w, err
	}
	if w.to < w.from {
		return w, fmt.Errorf("window ends (%v) before it starts (%v)", w.to, w.from)
	}
	w.set = true
	return w, nil
}

// subject resolves a service name, a role or "gpus".
func (ps *parser) subject(w string, gpusOK bool) (subject, error) {
	if w == "gpus" || w == "queue" {
		if !gpusOK {
			return subject{}, fmt.Errorf("%s is not a service here", w)
		}
		return subject{gpus: w == "gpus", queue: w == "queue", label: w}, nil
	}
	var names []string
	var match []string
	for _, s := range ps.p.Services() {
		names = append(names, s.Name)
		if s.Name == w || (s.Role != policies.RoleFrontend && string(s.Role) == w) {
			match = append(match, s.Name)
		}
	}
	if len(match) != 1 {
		return subject{}, fmt.Errorf("%q names no single service of the policy (services: %s; or a role: prefill, decode, aggregated)",
			w, strings.Join(names, ", "))
	}
	return subject{service: match[0], label: w}, nil
}

// statement dispatches on the first word.
func (ps *parser) statement() (func(Run) error, error) {
	switch w := ps.next(); w {
	case "attainment", "gpu-hours", "scale-events":
		return ps.summary(w)
	case "reason":
		return ps.reason()
	case "no":
		return ps.noFlap()
	default:
		s, err := ps.subject(w, true)
		if err != nil {
			return nil, err
		}
		switch v := ps.next(); v {
		case "never":
			return ps.never(s)
		case "reaches":
			return ps.reaches(s)
		default:
			return nil, fmt.Errorf("expected never or reaches after %s, got %q", w, v)
		}
	}
}
