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

// Error formats the problem as "file:line: path: msg", leaving out the parts that are unknown.
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
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
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

// err joins the problems, or returns nil when there are none.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	errs := make([]error, len(p))
	for i, e := range p {
		errs[i] = e
	}
	return errors.Join(errs...)
}
