// Package tidal_test holds repository-wide checks: the import rules of DESIGN.md §2.
package tidal_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tidal-planner/tidal"

// listedPackage is the part of `go list -json` output the rules need.
type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages runs `go list -deps=false -json ./...` and decodes its stream of objects.
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rule forbids packages under from depending (directly or transitively) on any import path with
// one of the forbidden prefixes.
type rule struct {
	name      string
	from      string
	forbidden []string
}

func rules() []rule {
	return []rule{
		{"forecast imports nothing of ours", "forecast", []string{module + "/"}},
		{"policies imports nothing of ours", "policies", []string{module + "/"}},
		{"planner stays off the network stacks", "planner", []string{
			"k8s.io/client-go", "github.com/prometheus/", "google.golang.org/grpc",
			"github.com/kedacore/", module + "/metrics", module + "/scaler", module + "/cmd",
		}},
		{"metrics never imports scaler", "metrics", []string{module + "/scaler", module + "/cmd"}},
		{"scaler never imports metrics", "scaler", []string{module + "/metrics", module + "/cmd"}},
		{"nobody links KEDA's scalers package", "", []string{"github.com/kedacore/keda/v2/pkg/scalers/"}},
	}
}

func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) == 0 {
		t.Fatal("go list returned no packages")
	}
	for _, r := range rules() {
		t.Run(r.name, func(t *testing.T) {
			checked := 0
			for _, p := range pkgs {
				rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
				if r.from != "" && rel != r.from && !strings.HasPrefix(rel, r.from+"/") {
					continue
				}
				checked++
				for _, d := range p.Deps {
					if violates(r, p.ImportPath, d) {
						t.Errorf("%s depends on %s", p.ImportPath, d)
					}
				}
			}
			if checked == 0 {
				t.Errorf("no package matched %q: the rule checks nothing", r.from)
			}
		})
	}
}

// violates reports whether dep breaks rule r for package pkg. A package's own subpackages are
// allowed (planner/sim may import planner).
func violates(r rule, pkg, dep string) bool {
	for _, f := range r.forbidden {
		if dep == pkg || strings.HasPrefix(dep, pkg+"/") {
			continue
		}
		if dep+"/" == f || strings.HasPrefix(dep, f) {
			// the keda rule allows the externalscaler package itself
			if strings.HasPrefix(dep, "github.com/kedacore/keda/v2/pkg/scalers/externalscaler") && r.from != "planner" {
				continue
			}
			return true
		}
	}
	return false
}

func TestViolates(t *testing.T) {
	tests := []struct {
		name string
		r    rule
		pkg  string
		dep  string
		want bool
	}{
		{"own package is fine", rule{from: "forecast", forbidden: []string{module + "/"}}, module + "/forecast", module + "/forecast", false},
		{"sibling is forbidden", rule{from: "forecast", forbidden: []string{module + "/"}}, module + "/forecast", module + "/policies", true},
		{"std lib is fine", rule{from: "forecast", forbidden: []string{module + "/"}}, module + "/forecast", "math", false},
		{"client-go subpackage", rule{from: "planner", forbidden: []string{"k8s.io/client-go"}}, module + "/planner", "k8s.io/client-go/rest", true},
		{"keda scalers", rule{forbidden: []string{"github.com/kedacore/keda/v2/pkg/scalers/"}}, module + "/scaler", "github.com/kedacore/keda/v2/pkg/scalers/azure", true},
		{"keda externalscaler allowed", rule{forbidden: []string{"github.com/kedacore/keda/v2/pkg/scalers/"}}, module + "/scaler", "github.com/kedacore/keda/v2/pkg/scalers/externalscaler", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := violates(tt.r, tt.pkg, tt.dep); got != tt.want {
				t.Errorf("violates(%q, %q) = %v, want %v", tt.pkg, tt.dep, got, tt.want)
			}
		})
	}
}
