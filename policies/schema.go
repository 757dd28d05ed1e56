package policies

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The schema walk checks a YAML node tree against the document types before anything is decoded,
// so that errors speak YAML (field paths, lines, "a duration such as ...") instead of Go types. It
// visits only what the schema allows, so its depth is the schema's, and it counts every visit
// (aliases included) against maxNodes.

var (
	documentType = reflect.TypeFor[Document]()
	durationType = reflect.TypeFor[Duration]()
	plainKey     = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	dayUnit      = regexp.MustCompile(`^[0-9.]+d`)
)

// walker accumulates problems and the line of every field path it visits.
type walker struct {
	file    string
	probs   problems
	lines   lineIndex
	visits  int
	dropped int // problems counted but not kept
	// voids and drops are what repair removes once the walk has reported it.
	voids []*yaml.Node
	drops map[*yaml.Node]map[*yaml.Node]bool
}

// errorf records a problem at a line. Past maxProblems+1 problems it only counts them, which
// bounds memory; problems.err reports how many were left out.
func (w *walker) errorf(line int, path, format string, args ...any) {
	if len(w.probs) > maxProblems {
		w.dropped++
		return
	}
	w.probs = append(w.probs, &FieldError{File: w.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// walk checks n against t. line is where the field was written (its key's line).
func (w *walker) walk(n *yaml.Node, t reflect.Type, path string, line int) {
	orig := n
	for hops := 0; n.Kind == yaml.AliasNode; hops++ {
		if n.Alias == nil || hops > 8 {
			w.errorf(n.Line, path, "alias *%s cannot be resolved", n.Value)
			w.void(orig)
			return
		}
		n = n.Alias
	}
	if !w.visit(line, path) {
		return
	}
	if _, seen := w.lines[path]; !seen {
		w.lines[path] = line
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // absent: the default applies
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		w.duration(n, path)
	case t.Kind() == reflect.Struct:
		w.mapping(n, t, path)
	case t.Kind() == reflect.Slice:
		w.sequence(n, t, path)
	case t.Kind() == reflect.Map:
		w.dict(n, t, path)
	default:
		w.scalar(n, t, path)
	}
}

// visit counts one node or mapping key against maxNodes, reporting the overflow once; it says
// whether the walk may go on. Keys count too: an alias to a mapping of many keys, used many
// times, must not make the walk quadratic.
func (w *walker) visit(line int, path string) bool {
	w.visits++
	if w.visits == maxNodes { // kept even past maxProblems: it explains the rest
		w.probs = append(w.probs, &FieldError{File: w.file, Line: line, Path: path,
			Msg: fmt.Sprintf("the document expands to more than %d YAML nodes (check aliases); it is not a policy", maxNodes)})
	}
	return w.visits < maxNodes
}

// describe says what a node is, for "expected X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	v := n.Value
	if r := []rune(v); len(r) > 40 {
		v = string(r[:40]) + "..."
	}
	if n.ShortTag() == "!!str" {
		return fmt.Sprintf("%q", v)
	}
	return v
}

func (w *walker) duration(n *yaml.Node, path string) {
	if n.Kind != yaml.ScalarNode {
		w.errorf(n.Line, path, "expected a duration such as \"300ms\" or \"5m\", got %s", describe(n))
		w.void(n)
		return
	}
	if _, err := time.ParseDuration(n.Value); err != nil {
		hint := ""
		if dayUnit.MatchString(n.Value) {
			hint = ` (there is no "d" unit: 14 days is "336h")`
		}
		w.errorf(n.Line, path, "expected a duration such as \"300ms\" or \"5m\", got %s%s", describe(n), hint)
		w.void(n)
	}
}

// fieldsOf returns the YAML names of t's fields and their types, in declaration order.
func fieldsOf(t reflect.Type) ([]string, map[string]reflect.Type) {
	names := make([]string, 0, t.NumField())
	types := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
		types[name] = f.Type
	}
	return names, types
}

func (w *walker) mapping(n *yaml.Node, t reflect.Type, path string) {
	names, types := fieldsOf(t)
	if n.Kind != yaml.MappingNode {
		w.errorf(n.Line, path, "expected a mapping with fields %s, got %s", strings.Join(names, ", "), describe(n))
		w.void(n)
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content) && w.visit(n.Line, path); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key, ok := w.key(k, path, seen)
		if !ok {
			w.drop(n, k)
			continue
		}
		ft, known := types[key]
		if !known {
			hint := didYouMean(key, names)
			if hint == "" {
				hint = "; valid fields: " + strings.Join(names, ", ")
			}
			w.errorf(k.Line, path, "unknown field %q%s", key, hint)
			w.drop(n, k)
			continue
		}
		w.walk(v, ft, joinPath(path, key), k.Line)
	}
}

// key checks a mapping key: a plain scalar, not a merge key, not a duplicate.
func (w *walker) key(k *yaml.Node, path string, seen map[string]int) (string, bool) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	switch {
	case k.ShortTag() == "!!merge":
		w.errorf(k.Line, path, "merge keys (<<) are not supported: write the fields out")
		return "", false
	case k.Kind != yaml.ScalarNode:
		w.errorf(k.Line, path, "expected a field name, got %s", describe(k))
		return "", false
	}
	if first, dup := seen[k.Value]; dup {
		w.errorf(k.Line, joinPath(path, k.Value), "appears twice (first on line %d)", first)
		return "", false
	}
	seen[k.Value] = k.Line
	return k.Value, true
}

// joinPath appends a field or map key to a path, bracketing keys that are not plain names.
func joinPath(path, key string) string {
	switch {
	case !plainKey.MatchString(key):
		return fmt.Sprintf("%s[%q]", path, key)
	case path == "":
		return key
	}
	return path + "." + key
}

func (w *walker) sequence(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.SequenceNode {
		w.errorf(n.Line, path, "expected a list (items starting with \"- \"), got %s", describe(n))
		w.void(n)
		return
	}
	for i, item := range n.Content {
		if w.visits >= maxNodes {
			return
		}
		w.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), item.Line)
	}
}

func (w *walker) dict(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		w.errorf(n.Line, path, "expected a mapping, got %s", describe(n))
		w.void(n)
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content) && w.visit(n.Line, path); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if key, ok := w.key(k, path, seen); ok {
			w.walk(v, t.Elem(), joinPath(path, key), k.Line)
		} else {
			w.drop(n, k)
		}
	}
}

// scalar checks strings, integers, floats and booleans.
func (w *walker) scalar(n *yaml.Node, t reflect.Type, path string) {
	want := map[reflect.Kind]string{
		reflect.String: "a string", reflect.Int32: "a whole number", reflect.Float64: "a number",
		reflect.Bool: "true or false",
	}[t.Kind()]
	if want == "" {
		w.errorf(n.Line, path, "internal error: no YAML rule for %s", t)
		w.void(n)
		return
	}
	if n.Kind != yaml.ScalarNode || !scalarFits(n, t.Kind()) {
		hint := ""
		if t.Kind() == reflect.Float64 && n.Kind == yaml.ScalarNode && strings.HasSuffix(n.Value, "%") {
			hint = fmt.Sprintf(" (write percentages without %%: %s)", strings.TrimSpace(strings.TrimSuffix(n.Value, "%")))
		}
		w.errorf(n.Line, path, "expected %s, got %s%s", want, describe(n), hint)
		w.void(n)
	}
}

// scalarFits reports whether a scalar node decodes into a value of kind k.
func scalarFits(n *yaml.Node, k reflect.Kind) bool {
	tag := n.ShortTag()
	switch k {
	case reflect.String:
		return tag == "!!str" || tag == "!!int" || tag == "!!float" || tag == "!!bool" || tag == "!!timestamp"
	case reflect.Bool:
		return tag == "!!bool"
	case reflect.Int32:
		var v int64
		return tag == "!!int" && n.Decode(&v) == nil && v >= math.MinInt32 && v <= math.MaxInt32
	case reflect.Float64:
		var v float64
		return (tag == "!!int" || tag == "!!float") && n.Decode(&v) == nil
	}
	return false
}

// void marks a node the walk rejected, to be replaced with null by repair once the walk is over,
// so the rest of the document can still be decoded and validated: every problem is reported in
// one pass, and the rejected field reads as absent (its problem is already reported).
func (w *walker) void(n *yaml.Node) { w.voids = append(w.voids, n) }

// drop marks a mapping's key (unknown, duplicate, or not a name) to be removed with its value by
// repair.
func (w *walker) drop(mapping, key *yaml.Node) {
	if w.drops == nil {
		w.drops = map[*yaml.Node]map[*yaml.Node]bool{}
	}
	if w.drops[mapping] == nil {
		w.drops[mapping] = map[*yaml.Node]bool{}
	}
	w.drops[mapping][key] = true
}

// repair applies the marks of void and drop. It runs after the walk, so that nodes shared by
// aliases are walked (and counted) as written; applying it twice changes nothing.
func (w *walker) repair() {
	for mapping, keys := range w.drops {
		kept := make([]*yaml.Node, 0, len(mapping.Content))
		for i := 0; i+1 < len(mapping.Content); i += 2 {
			if !keys[mapping.Content[i]] {
				kept = append(kept, mapping.Content[i], mapping.Content[i+1])
			}
		}
		mapping.Content = kept
	}
	for _, n := range w.voids {
		*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
	}
}
