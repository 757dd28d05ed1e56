package policies

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Input limits. A policy file is a few kilobytes; these bound the work hostile input can cause.
const (
	// MaxFileSize is the largest policy file Parse and Load accept, in bytes (1 MiB).
	MaxFileSize = 1 << 20
	// maxNodes bounds the YAML nodes the schema walk visits, counting each alias expansion.
	maxNodes = 100_000
)

// Parse decodes one policy document strictly and compiles it with New. source names the input in
// errors (usually the file name; "" leaves it out).
//
// Decoding is strict: an unknown or duplicated field, a wrong type, YAML aliases that expand beyond
// the node limit, merge keys, a second YAML document in the same input, more than MaxFileSize
// bytes or non-UTF-8 (binary) input are errors. Every error is a *FieldError naming source, line
// and field path; decode problems are all reported together, and validation problems likewise
// (validation runs only once decoding succeeded). Parse does no I/O apart from time.LoadLocation
// reading the time zone database, and is safe for concurrent use.
func Parse(data []byte, source string) (Policy, error) {
	doc, lines, err := decode(data, source)
	var tp *typeProblems
	if errors.As(err, &tp) {
		_, verr := newPolicy(doc, source, lines)
		return Policy{}, tp.with(verr)
	}
	if err != nil {
		return Policy{}, err
	}
	return newPolicy(doc, source, lines)
}

// decode turns data into a Document and an index of field paths to lines.
func decode(data []byte, source string) (Document, lineIndex, error) {
	fail := func(line int, format string, args ...any) (Document, lineIndex, error) {
		return Document{}, nil, &FieldError{File: source, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxFileSize {
		return fail(0, "is %d bytes; a policy file may be at most %d bytes (1 MiB)", len(data), MaxFileSize)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 || !utf8.Valid(data) {
		return fail(0, "is not a UTF-8 text file (binary data near byte %d)", max(i, invalidUTF8Offset(data)))
	}
	root, err := parseOneDocument(data, source)
	if err != nil {
		return Document{}, nil, err
	}
	w := walker{file: source, lines: lineIndex{}}
	w.walk(root, documentType, "", root.Line)
	if len(w.probs) > 0 {
		// The walk replaced what it rejected with null: decode the rest, so validation can
		// report its problems in the same pass (see typeProblems).
		var doc Document
		if w.visits >= maxNodes {
			return Document{}, nil, w.probs.errDropped(w.dropped)
		}
		w.repair()
		if root.Decode(&doc) != nil {
			return Document{}, nil, w.probs.errDropped(w.dropped)
		}
		return doc, w.lines, &typeProblems{probs: w.probs, dropped: w.dropped}
	}
	var doc Document
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		// The walk accepts only what the schema allows, so apart from yaml.v3's own alias-ratio
		// limit this is a walk bug (FuzzLoad looks for it); still say where.
		line, msg := splitYAMLError(err)
		return fail(line, "cannot decode: %s", msg)
	}
	return doc, w.lines, nil
}

// parseOneDocument parses data into the root node of its only YAML document.
func parseOneDocument(data []byte, source string) (*yaml.Node, error) {
	fail := func(line int, format string, args ...any) (*yaml.Node, error) {
		return nil, &FieldError{File: source, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := dec.Decode(&doc)
	if errors.Is(err, io.EOF) || (err == nil && (len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null")) {
		return fail(0, "is empty: expected a policy (apiVersion: %s, kind: %s, metadata, spec)", APIVersion, Kind)
	}
	if err != nil {
		return fail(syntaxError(err, data))
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return fail(syntaxError(err, data))
	case len(next.Content) > 0 && next.Content[0].ShortTag() != "!!null":
		return fail(next.Line, "a second YAML document starts here: a policy file holds exactly one policy (use one file per deployment)")
	}
	return doc.Content[0], nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// splitYAMLError extracts the line and the message from a yaml.v3 error, dropping the "yaml: "
// prefix and Go type names.
func splitYAMLError(err error) (int, string) {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	msg = strings.ReplaceAll(msg, "policies.", "")
	return line, msg
}

var unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// syntaxError formats a YAML parse error. yaml.v3 leaves the line out when the problem is on the
// first line, and for an unknown anchor, whose first use is then looked up in data.
func syntaxError(err error, data []byte) (int, string, string) {
	line, msg := splitYAMLError(err)
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil && line == 0 {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
	}
	return max(line, 1), "is not valid YAML: %s", msg
}

// invalidUTF8Offset returns the byte offset of the first invalid UTF-8 sequence, or -1.
func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// lineIndex maps field paths to the line where each was written.
type lineIndex map[string]int

// lineOf returns the line of path, or of its closest written ancestor, or 0.
func (li lineIndex) lineOf(path string) int {
	for path != "" {
		if l, ok := li[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return li[""]
}

// typeProblems are the schema walk's problems (wrong types, unknown fields) when the rest of the
// document still decoded: decode returns them with the document so that the caller validates the
// rest too and reports everything at once. It never leaves this package.
type typeProblems struct {
	probs   problems
	dropped int
}

func (t *typeProblems) Error() string { return t.probs.errDropped(t.dropped).Error() }

// with joins the validation problems of the rest of the document, leaving out those about a field
// the walk already rejected (it reads as absent, so validation would only repeat the complaint).
func (t *typeProblems) with(verr error) error {
	all := t.probs
	for _, v := range Problems(verr) {
		if !t.covers(v.Path) {
			all = append(all, v)
		}
	}
	return all.errDropped(t.dropped)
}

// covers reports whether path is, or lies under, a path the walk rejected.
func (t *typeProblems) covers(path string) bool {
	for _, p := range t.probs {
		if p.Path != "" && (path == p.Path || strings.HasPrefix(path, p.Path+".") || strings.HasPrefix(path, p.Path+"[")) {
			return true
		}
	}
	return false
}
