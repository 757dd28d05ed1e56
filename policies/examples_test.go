package policies

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The shipped examples must load, and breaking them anywhere must fail with file:line and field.

func exampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := Files("examples")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"aggregated.yaml", "disaggregated.yaml", "hybrid.yaml", "scheduled-peak.yaml"} {
		if _, err := os.Stat(filepath.Join("examples", want)); err != nil {
			t.Errorf("example %s: %v", want, err)
		}
	}
	return files
}

func TestExamplesLoad(t *testing.T) {
	for _, f := range exampleFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := LoadFile(f)
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if p.NumServices() == 0 || p.Source != f {
				t.Errorf("policy %q from %q has %d services", p.Name, p.Source, p.NumServices())
			}
		})
	}
	if _, err := Load("examples"); err != nil {
		t.Errorf("Load(examples): %v", err)
	}
}

// field is one "key: value" pair found in a YAML node tree.
type field struct {
	path, parent string
	key, value   *yaml.Node
}

// fields lists every key of every mapping under n, with field paths built independently of the
// package's own walk.
func fields(n *yaml.Node, path string, out []field) []field {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			out = append(out, field{path: p, parent: path, key: k, value: v})
			out = fields(v, p, out)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			out = fields(item, fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
	return out
}

// freeForm matches paths of maps whose keys the user chooses.
var freeForm = regexp.MustCompile(`(\.labels|\.annotations|\.queries|^spec\.schedules\[\d+\]\.services)$`)

// mutation is one broken copy of an example and the error it must produce.
type mutation struct {
	name, text, want string
}

func exampleMutations(file, text string, root *yaml.Node) []mutation {
	lines := strings.Split(text, "\n")
	edit := func(line int, f func(string) []string) string {
		out := append([]string{}, lines[:line-1]...)
		out = append(out, f(lines[line-1])...)
		return strings.Join(append(out, lines[line:]...), "\n")
	}
	var ms []mutation
	for _, f := range fields(root, "", nil) {
		k, v := f.key, f.value
		if !freeForm.MatchString(f.parent) {
			// An unknown sibling field, inserted on its own line at the key's indentation.
			indent := strings.Repeat(" ", k.Column-1)
			at := k.Line
			ins := func(l string) []string { return []string{indent + "bogusField: 1", l} }
			if strings.TrimSpace(lines[k.Line-1])[0] == '-' { // "- key:" starts a list item: insert after
				if v.Line != k.Line {
					continue
				}
				at++
				ins = func(l string) []string { return []string{l, indent + "bogusField: 1"} }
			}
			where := strings.TrimSuffix(f.parent+": ", ": ")
			if f.parent == "" {
				where = ""
			} else {
				where += ": "
			}
			ms = append(ms, mutation{"unknown field before " + f.path, edit(k.Line, ins),
				fmt.Sprintf("%s:%d: %sunknown field \"bogusField\"", file, at, where)})
		}
		if v.Kind != yaml.ScalarNode || v.Line != k.Line {
			continue
		}
		// A wrong type in place of the scalar value: a list, and for non-strings a word.
		replace := func(with string) string {
			return edit(v.Line, func(l string) []string {
				rest := l[v.Column-1:]
				end := strings.Index(rest, " #")
				if end < 0 {
					end = len(rest)
				}
				return []string{l[:v.Column-1] + with + rest[end:]}
			})
		}
		want := fmt.Sprintf("%s:%d: %s: expected ", file, v.Line, f.path)
		ms = append(ms, mutation{"list as " + f.path, replace("[oops]"), want})
		if _, err := time.ParseDuration(v.Value); err == nil || v.ShortTag() != "!!str" {
			ms = append(ms, mutation{"word as " + f.path, replace("oops"), want})
		}
	}
	return ms
}

func TestExampleMutationsFailWithLineAndField(t *testing.T) {
	for _, file := range exampleFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		ms := exampleMutations(file, string(data), doc.Content[0])
		if len(ms) < 40 {
			t.Errorf("%s: only %d mutations generated", file, len(ms))
		}
		for _, m := range ms {
			_, err := Parse([]byte(m.text), file)
			if err == nil {
				t.Errorf("%s: %s: Parse succeeded", file, m.name)
				continue
			}
			if !strings.Contains(err.Error(), m.want) {
				t.Errorf("%s: %s: error\n%v\ndoes not contain\n%s", file, m.name, err, m.want)
			}
		}
	}
}
