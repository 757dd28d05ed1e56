package policies

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bomb builds a "billion laughs" document whose aliases expand inside the schema: every schedule
// is the same anchored schedule whose services map has many entries.
func bomb(entries, copies int) string {
	var b strings.Builder
	b.WriteString(minimal)
	b.WriteString("  schedules:\n    - &s\n      name: s\n      cron: \"@daily\"\n      duration: 1h\n      services:\n")
	for i := range entries {
		fmt.Fprintf(&b, "        svc%d: {maxReplicas: 1}\n", i)
	}
	for range copies {
		b.WriteString("    - *s\n")
	}
	return b.String()
}

func TestParseGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.UintN(256))
	}
	big := strings.Repeat("# padding line for a file that is far too large\n", 10<<20/48)
	deepFlow := minimal + "  budget: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n"
	var deepBlock strings.Builder
	deepBlock.WriteString(minimal + "  budget:\n")
	for i := range 1000 {
		fmt.Fprintf(&deepBlock, "%sk%d:\n", strings.Repeat(" ", 4+i), i)
	}
	manyUnknown := minimal
	for i := range 5000 {
		manyUnknown += fmt.Sprintf("x%d: 1\n", i)
	}
	var keyBomb strings.Builder
	keyBomb.WriteString("x: &k {")
	for i := range 20000 {
		fmt.Fprintf(&keyBomb, "k%d: 1, ", i)
	}
	keyBomb.WriteString("}\nspec: {target: *k, slo: *k, metrics: *k, planning: *k, stability: *k, budget: *k}\n")
	for i := range 200 {
		fmt.Fprintf(&keyBomb, "metadata%d: *k\n", i)
	}
	tests := []struct {
		name string
		data string
		want string
	}{
		{"alias to many keys", keyBomb.String(), "expands to more than 100000 YAML nodes"},
		{"random bytes", string(random), "g.yaml: is not a UTF-8 text file"},
		{"NUL in text", "apiVersion: tidal.dev/v1alpha1\x00", "g.yaml: is not a UTF-8 text file (binary data near byte 30)"},
		{"latin-1", "name: caf\xe9\n", "g.yaml: is not a UTF-8 text file (binary data near byte 9)"},
		{"empty", "", "g.yaml: is empty"},
		{"blank", " \n\n   \n", "g.yaml: is empty"},
		{"document marker only", "---\n", "g.yaml: is empty"},
		{"null", "null\n", "g.yaml: is empty"},
		{"scalar", "hello\n", `g.yaml:1: expected a mapping with fields apiVersion, kind, metadata, spec, got "hello"`},
		{"10 MB", big, "g.yaml: is 10485744 bytes; a policy file may be at most 1048576 bytes (1 MiB)"},
		{"deep flow nesting", deepFlow, "g.yaml:"},
		{"deep block nesting", deepBlock.String(), "g.yaml:20: spec.budget: unknown field \"k0\"; valid fields: maxGPUs"},
		{"alias bomb", bomb(2000, 20000), "expands to more than 100000 YAML nodes"},
		{"merge key", minimal + "  budget:\n    <<: {maxGPUs: 3}\n", "g.yaml:20: spec.budget: merge keys (<<) are not supported"},
		{"undefined alias", minimal + "  budget: *nope\n", "g.yaml:19: is not valid YAML: unknown anchor 'nope' referenced"},
		{"many unknown fields", manyUnknown, "g.yaml: 4950 more problems not shown"},
		{"tabs", "apiVersion: x\n\tkind: y\n", "g.yaml:2: is not valid YAML"},
		{"huge integer", strings.Replace(minimal, "maxReplicas: 4", "maxReplicas: 99999999999999999999", 1), "spec.services[0].maxReplicas: expected a whole number, got 99999999999999999999"},
		{"int32 overflow", strings.Replace(minimal, "maxReplicas: 4", "maxReplicas: 2147483648", 1), "spec.services[0].maxReplicas: expected a whole number"},
		{"days", strings.Replace(minimal, "target: 300ms", "target: 1d", 1), `spec.slo.ttft.target: expected a duration such as "300ms" or "5m", got "1d" (there is no "d" unit: 14 days is "336h")`},
		{"long value", strings.Replace(minimal, "target: 300ms", "target: "+strings.Repeat("é", 50), 1), `got "` + strings.Repeat("é", 40) + `..."`},
		{"binary tag", strings.Replace(minimal, "name: p", "name: !!binary aGVsbG8=", 1), "metadata.name: expected a string, got aGVsbG8="},
		{"custom tag", strings.Replace(minimal, "name: p", "name: !shout p", 1), "metadata.name: expected a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data), "g.yaml")
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				msg := err.Error()
				if len(msg) > 2000 {
					msg = msg[:2000] + "..."
				}
				t.Errorf("error\n%s\ndoes not contain\n%s", msg, tt.want)
			}
		})
	}
}

func TestLoadFileReadsNoMoreThanTheLimit(t *testing.T) {
	name := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(name, bytes.Repeat([]byte("#\n"), 5<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(name)
	want := name + ": is 1048577 bytes; a policy file may be at most 1048576 bytes (1 MiB)"
	if err == nil || err.Error() != want {
		t.Errorf("LoadFile error = %v, want %s", err, want)
	}
}
