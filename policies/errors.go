package policies

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is one problem in a policy: where it is and what is wrong. Parse, Load and New return
// every problem they find joined with errors.Join; Problems recovers them as a list.
type FieldError struct {
	// File is the policy file ("" when the document did not come from a file).
	File string
	// Line is the 1-based line in File (0 when unknown, e.g. for New on a Document built in Go).
	Line int
	// Path is the field path in YAML terms, e.g. "spec.services[1].maxReplicas" ("" for the file).
	Path string
	// Msg says what is wrong, with the bad value.
	Msg string
}

// Error formats the problem as "file:line: path: msg", leaving out the parts that are unknown;
// msg is clipped to MaxMessage bytes.
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(ClipTo(e.Path, MaxMessage))
		b.WriteString(": ")
	}
	b.WriteString(ClipTo(e.Msg, MaxMessage)) // a message may echo a huge bad value
	return b.String()
}

// Problems returns every *FieldError inside err (which may be a join of joins), in order.
// It returns nil when err holds none.
func Problems(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if fe, ok := e.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// problems collects FieldErrors in order.
type problems []*FieldError

// addf records a problem at path.
func (p *problems) addf(path, format string, args ...any) {
	*p = append(*p, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// maxProblems caps how many problems one document reports, so garbage input gives a readable error.
const maxProblems = 50

// err joins the problems (at most maxProblems, then a note saying how many were left out), or
// returns nil when there are none.
func (p problems) err() error { return p.errDropped(0) }

// errDropped is err for a list from which dropped further problems were already left out.
func (p problems) errDropped(dropped int) error {
	if len(p) == 0 {
		return nil
	}
	if more := len(p) + dropped - maxProblems; more > 0 {
		// Keep the first problems and the last one (the node limit, when it was hit).
		note := &FieldError{File: p[0].File, Msg: fmt.Sprintf("%d more problems not shown", more)}
		kept := append(p[:maxProblems-1:maxProblems-1], note)
		p = append(kept, p[len(p)-1])
	}
	errs := make([]error, len(p))
	for i, e := range p {
		errs[i] = e
	}
	return errors.Join(errs...)
}
