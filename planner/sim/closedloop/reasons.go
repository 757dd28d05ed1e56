package closedloop

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidal-planner/tidal/planner"
)

// knownCodes are the reason codes a statement may name: a misspelt code would make "never
// appears" pass whatever the planner did, so an unknown one is a parse error. A code the planner
// gains is added here.
var knownCodes = []planner.Code{
	planner.CodeReplicasUnknown, planner.CodeMissing, planner.CodeGPUsUnknown, planner.CodeConflictingWriter,
	planner.CodeWriterBackoff, planner.CodeBudgetHold, planner.CodeForecast, planner.CodeForecastNone,
	planner.CodeForecastBounded, planner.CodeRiskTightened, planner.CodeRiskLoosened, planner.CodeRiskHeld,
	planner.CodeRiskFrozen, planner.CodeWaitScaled, planner.CodeUtilisationRaised, planner.CodeReserve, planner.CodeSized, planner.CodeNoModel, planner.CodeInfeasible,
	planner.CodeHold, planner.CodeTTFTBreach, planner.CodeITLBreach, planner.CodeQueueBreach, planner.CodeUnresponsive,
	planner.CodeScheduleFloor, planner.CodeScheduleCeiling, planner.CodeStarting, planner.CodeDrained, planner.CodeStartupTimeout,
	planner.CodeWindow, planner.CodeSLOBlocksDown, planner.CodeTolerance, planner.CodeObjectiveBlocks, planner.CodeBurnedHere, planner.CodeCooldown, planner.CodeMaxStepUp,
	planner.CodeMaxStepDown, planner.CodeBudgetCut, planner.CodeMin, planner.CodeMax, planner.CodeNeedAboveMax,
	planner.CodeCalibrated, planner.CodeITLPastSeen, planner.CodeITLReach, planner.CodeDecodeContext, planner.CodeLearnedModel, planner.CodeNoTraffic,
}

// reason: reason CODE [on SUBJECT] [with value OP X] (never appears | appears at most|at least|exactly N times)
// [from A to B]. It counts service decisions whose reasons carry the code.
func (ps *parser) reason() (func(Run) error, error) {
	code := planner.Code(ps.next())
	if !slices.Contains(knownCodes, code) {
		names := make([]string, len(knownCodes))
		for i, c := range knownCodes {
			names[i] = string(c)
		}
		return nil, fmt.Errorf("unknown reason code %q (known: %s)", code, strings.Join(names, ", "))
	}
	var s subject
	if ps.peek() == "on" {
		ps.next()
		var err error
		if s, err = ps.subject(ps.next(), false); err != nil {
			return nil, err
		}
	}
	cond, err := ps.valueCond()
	if err != nil {
		return nil, err
	}
	o, n, err := ps.count()
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
	return reasonCheck(code, s, cond, o, n, win), nil
}

// reasonCheck counts the service decisions in win carrying code (on s's service, or any) whose
// value meets cond, and compares the count with n.
func reasonCheck(code planner.Code, s subject, cond func(float64) bool, o op, n int, win window) func(Run) error {
	return func(r Run) error {
		var hits []string
		for _, d := range r.Decisions {
			if !win.has(d) {
				continue
			}
			for _, sd := range d.Services {
				if (s.service == "" || sd.Name == s.service) && carries(sd, code, cond) {
					hits = append(hits, sd.Name+" "+stamp(d))
				}
			}
		}
		if !o.holds(float64(len(hits)), float64(n)) {
			if len(hits) == 0 {
				return fmt.Errorf("it appeared 0 times%s", win)
			}
			return fmt.Errorf("it appeared %d times%s: %s", len(hits), win, first(hits))
		}
		return nil
	}
}

// count reads "never appears" or "appears at most|at least|exactly N times".
func (ps *parser) count() (op, int, error) {
	if ps.peek() == "never" {
		return "==", 0, ps.word("never", "appears")
	}
	if err := ps.word("appears"); err != nil {
		return "", 0, err
	}
	var o op
	switch w := ps.next(); {
	case w == "exactly":
		o = "=="
	case w == "at" && ps.peek() == "most":
		o = "<="
	case w == "at" && ps.peek() == "least":
		o = ">="
	default:
		return "", 0, fmt.Errorf("expected at most, at least or exactly after appears, got %q", w)
	}
	if o != "==" {
		ps.next()
	}
	n, err := ps.int()
	if err != nil {
		return "", 0, err
	}
	return o, n, ps.word("times")
}

// valueCond is an optional "with value OP NUMBER" on a reason's Value (what it holds depends on
// the code: see planner's Code constants); nil when absent.
func (ps *parser) valueCond() (func(float64) bool, error) {
	if ps.peek() != "with" {
		return nil, nil
	}
	if err := ps.word("with", "value"); err != nil {
		return nil, err
	}
	o, err := parseOp(ps.next(), ">=", "<=", "==", "<", ">")
	if err != nil {
		return nil, err
	}
	w := ps.next()
	v, err := strconv.ParseFloat(w, 64)
	if err != nil {
		return nil, fmt.Errorf("expected a number, got %q", w)
	}
	return func(x float64) bool { return o.holds(x, v) }, nil
}

// carries reports whether a service decision has a reason with code c whose value meets cond
// (any value when cond is nil).
func carries(sd planner.ServiceDecision, c planner.Code, cond func(float64) bool) bool {
	for _, r := range sd.Reasons {
		if r.Code == c && (cond == nil || cond(r.Value)) {
			return true
		}
	}
	return false
}

// noFlap: no scale-down within SPAN of a scale-up [on SUBJECT]. A scale-up is a decision whose
// desired exceeds its current; a scale-down one whose desired is below it, taken less than SPAN
// after the service's last scale-up.
func (ps *parser) noFlap() (func(Run) error, error) {
	if err := ps.word("scale-down", "within"); err != nil {
		return nil, err
	}
	span, err := ps.duration()
	if err != nil {
		return nil, err
	}
	if err := ps.word("of", "a", "scale-up"); err != nil {
		return nil, err
	}
	var s subject
	if ps.peek() == "on" {
		ps.next()
		if s, err = ps.subject(ps.next(), false); err != nil {
			return nil, err
		}
	}
	if err := ps.end(); err != nil {
		return nil, err
	}
	return flapCheck(span, s), nil
}

// flapCheck finds scale-downs taken less than span after the same service's last scale-up.
func flapCheck(span time.Duration, s subject) func(Run) error {
	return func(r Run) error {
		lastUp := map[string]planner.Decision{}
		var bad []string
		for _, d := range r.Decisions {
			for _, sd := range d.Services {
				if s.service != "" && sd.Name != s.service {
					continue
				}
				switch {
				case sd.Desired > sd.Current:
					lastUp[sd.Name] = d
				case sd.Desired < sd.Current:
					if u, ok := lastUp[sd.Name]; ok && d.Time.Sub(u.Time) < span {
						bad = append(bad, fmt.Sprintf("%s up at %s, down at %s", sd.Name, stamp(u), stamp(d)))
					}
				}
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("%d scale-downs within %v of a scale-up: %s", len(bad), span, first(bad))
		}
		return nil
	}
}
