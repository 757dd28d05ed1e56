// Package tidal_test holds repository-wide checks: the import rules of DESIGN.md §2, the
// purity of the decision core, and the published result tables against the committed runs.
package tidal_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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

// The decision core is pure (DESIGN.md §2, issue 11 item 9): no I/O, no clock, no goroutines, no
// logging. TestPurity parses each listed package's non-test files with go/parser and fails on
// what would break that: a forbidden import, a read of the wall clock or a real timer, a go
// statement. The loop and file-loading sides live in the same packages; they are listed by name
// with the reason, and a listed file that turns out pure fails the test (check it instead).

// clockFuncs are the package time functions that read the wall clock or start a real timer.
// Time in the core is a value (Plan's now); durations and time.Time arithmetic are fine.
var clockFuncs = []string{"Now", "Since", "Until", "Sleep", "After", "AfterFunc", "NewTimer", "NewTicker", "Tick"}

// coreImports are forbidden in the decision files: logging, cancellation, locking, and the
// operating system and network (a path also forbids its subpackages: "net" covers net/http,
// "log" log/slog, "sync" sync/atomic, "os" os/exec).
var coreImports = []string{"context", "log", "net", "os", "sync", "syscall"}

// ioImports are the further I/O packages a package that reads nothing may not import. planner/profile
// may use io: it decodes .npz archives from bytes through archive/zip's io.ReaderAt.
var ioImports = []string{"io", "bufio", "path/filepath", "embed"}

// purityRule is one package folder whose non-test files must stay pure, less the excluded files.
type purityRule struct {
	dir       string            // relative to the repository root
	forbidden []string          // import paths (and their subpackages) the files may not import
	exclude   map[string]string // file name -> why it is on the I/O side
}

func purityRules() []purityRule {
	strict := slices.Concat(coreImports, ioImports)
	return []purityRule{
		{dir: "planner", forbidden: strict, exclude: map[string]string{
			"loop.go":        "the Loop: owns the clock, one goroutine per policy, context, slog",
			"loop_tick.go":   "one tick of the Loop: calls the observer and actuator ports concurrently, logs",
			"loop_warm.go":   "the Loop's start-up backfill: reads the HistoryReader port under a bounded number of slots, logs",
			"loop_scrape.go": "the Loop's scrape-interval measurement: reads the ScrapeReader port under the tick deadline, logs",
		}},
		{dir: "planner/model", forbidden: strict},
		{dir: "planner/burst", forbidden: strict},
		{dir: "planner/profile", forbidden: slices.Concat(coreImports, []string{"bufio", "path/filepath", "embed"}),
			exclude: map[string]string{
				"profile.go": "Load reads a profiler output folder from disk (os, io/fs, path/filepath)",
			}},
		// The simulated world drives Plan in simulated time: a wall-clock read or a goroutine would
		// make a replay irreproducible. Not checked: planner/sim/compete runs rivals concurrently,
		// planner/sim/report writes files, planner/sim/scenario embeds its scripts and
		// planner/workload reads traces: they are the shell around the world, not the world.
		{dir: "planner/sim", forbidden: strict},
		{dir: "planner/sim/synth", forbidden: strict},
		{dir: "forecast", forbidden: strict},
	}
}

func TestPurity(t *testing.T) {
	for _, r := range purityRules() {
		t.Run(r.dir, func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(filepath.FromSlash(r.dir), "*.go"))
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, path := range files {
				name := filepath.Base(path)
				if strings.HasSuffix(name, "_test.go") {
					continue
				}
				found := impuritiesInFile(t, path, r.forbidden)
				if why, ok := r.exclude[name]; ok {
					if len(found) == 0 {
						t.Errorf("%s is excluded (%s) but is pure: check it instead", path, why)
					}
					continue
				}
				checked++
				for _, f := range found {
					t.Errorf("%s: the decision core must stay pure", f)
				}
			}
			if checked == 0 {
				t.Errorf("no file checked in %s: the rule checks nothing", r.dir)
			}
			for name := range r.exclude {
				if !slices.Contains(files, filepath.Join(filepath.FromSlash(r.dir), name)) {
					t.Errorf("excluded file %s/%s does not exist: drop it from the list", r.dir, name)
				}
			}
		})
	}
}

// TestLintConfigMatchesPurityRules keeps .golangci.yml's depguard file lists in step with
// purityRules: every checked folder and every excluded file appears there, so `make lint` and this
// test guard the same files.
func TestLintConfigMatchesPurityRules(t *testing.T) {
	cfg, err := os.ReadFile(".golangci.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range purityRules() {
		want := []string{fmt.Sprintf("%q", "**/"+r.dir+"/*.go")}
		for name := range r.exclude {
			want = append(want, fmt.Sprintf("%q", "!**/"+r.dir+"/"+name))
		}
		for _, w := range want {
			if !strings.Contains(string(cfg), w) {
				t.Errorf(".golangci.yml's depguard lists lack %s (arch_test.go's purityRules has it)", w)
			}
		}
	}
}

func impuritiesInFile(t *testing.T, path string, forbidden []string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	return impurities(fset, f, forbidden)
}

// impurities lists, as "file:line: what", every forbidden import, wall-clock or timer use of
// package time and go statement in f.
func impurities(fset *token.FileSet, f *ast.File, forbidden []string) []string {
	var found []string
	report := func(n ast.Node, format string, args ...any) {
		p := fset.Position(n.Pos())
		found = append(found, fmt.Sprintf("%s:%d: %s", filepath.ToSlash(p.Filename), p.Line, fmt.Sprintf(format, args...)))
	}
	timeName := ""
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			report(imp, "unreadable import %s", imp.Path.Value)
			continue
		}
		for _, bad := range forbidden {
			if path == bad || strings.HasPrefix(path, bad+"/") {
				report(imp, "imports %s", path)
			}
		}
		if path != "time" {
			continue
		}
		switch timeName = "time"; {
		case imp.Name == nil:
		case imp.Name.Name == ".":
			report(imp, "dot-imports time, which hides its clock reads")
		default:
			timeName = imp.Name.Name
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n, "starts a goroutine")
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && timeName != "" && x.Name == timeName && slices.Contains(clockFuncs, n.Sel.Name) {
				report(n, "uses time.%s (time comes in as a value)", n.Sel.Name)
			}
		}
		return true
	})
	return found
}

// TestImpuritiesCatches proves each purity check can fail, on small sources that break one rule
// each, and that a pure source passes.
func TestImpuritiesCatches(t *testing.T) {
	strict := slices.Concat(coreImports, ioImports)
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{name: "pure", src: `package p
import ("math"; "time")
func f(now time.Time, d time.Duration) time.Time { return now.Add(d + time.Duration(math.Sqrt(4))) }`},
		{name: "log/slog", src: "package p\nimport \"log/slog\"\nvar _ = slog.Info",
			want: []string{"x.go:2: imports log/slog"}},
		{name: "log", src: "package p\nimport \"log\"\nvar _ = log.Print", want: []string{"x.go:2: imports log"}},
		{name: "context", src: "package p\nimport \"context\"\nvar _ context.Context", want: []string{"x.go:2: imports context"}},
		{name: "sync", src: "package p\nimport \"sync\"\nvar _ sync.Mutex", want: []string{"x.go:2: imports sync"}},
		{name: "sync/atomic", src: "package p\nimport \"sync/atomic\"\nvar _ atomic.Int64", want: []string{"x.go:2: imports sync/atomic"}},
		{name: "os", src: "package p\nimport \"os\"\nvar _ = os.Args", want: []string{"x.go:2: imports os"}},
		{name: "net", src: "package p\nimport \"net\"\nvar _ net.IP", want: []string{"x.go:2: imports net"}},
		{name: "net/http", src: "package p\nimport \"net/http\"\nvar _ = http.Get", want: []string{"x.go:2: imports net/http"}},
		{name: "io", src: "package p\nimport \"io\"\nvar _ io.Reader", want: []string{"x.go:2: imports io"}},
		{name: "io/fs", src: "package p\nimport \"io/fs\"\nvar _ fs.FS", want: []string{"x.go:2: imports io/fs"}},
		{name: "not a prefix match", src: "package p\nimport \"osext\"\nvar _ = osext.X"},
		{name: "time.Now", src: "package p\nimport \"time\"\nfunc f() time.Time { return time.Now() }",
			want: []string{"x.go:3: uses time.Now (time comes in as a value)"}},
		{name: "time.Since", src: "package p\nimport \"time\"\nfunc f(t time.Time) time.Duration { return time.Since(t) }",
			want: []string{"x.go:3: uses time.Since (time comes in as a value)"}},
		{name: "time.Sleep", src: "package p\nimport \"time\"\nfunc f() { time.Sleep(1) }",
			want: []string{"x.go:3: uses time.Sleep (time comes in as a value)"}},
		{name: "time.After", src: "package p\nimport \"time\"\nfunc f() { <-time.After(1) }",
			want: []string{"x.go:3: uses time.After (time comes in as a value)"}},
		{name: "time.AfterFunc", src: "package p\nimport \"time\"\nfunc f() { time.AfterFunc(1, f) }",
			want: []string{"x.go:3: uses time.AfterFunc (time comes in as a value)"}},
		{name: "time.NewTimer", src: "package p\nimport \"time\"\nvar _ = time.NewTimer(1)",
			want: []string{"x.go:3: uses time.NewTimer (time comes in as a value)"}},
		{name: "time.NewTicker", src: "package p\nimport \"time\"\nvar _ = time.NewTicker(1)",
			want: []string{"x.go:3: uses time.NewTicker (time comes in as a value)"}},
		{name: "time.Now as a value", src: "package p\nimport \"time\"\nvar clock = time.Now",
			want: []string{"x.go:3: uses time.Now (time comes in as a value)"}},
		{name: "renamed time", src: "package p\nimport t \"time\"\nvar _ = t.Now()",
			want: []string{"x.go:3: uses time.Now (time comes in as a value)"}},
		{name: "dot-imported time", src: "package p\nimport . \"time\"\nvar _ = Now()",
			want: []string{"x.go:2: dot-imports time, which hides its clock reads"}},
		{name: "another package's Now", src: "package p\nimport \"example.com/clock\"\nvar _ = clock.Now()"},
		{name: "go statement", src: "package p\nfunc f() {\n\tgo f()\n}", want: []string{"x.go:3: starts a goroutine"}},
		{name: "go statement in a closure", src: "package p\nvar f = func() {\n\tgo func() {}()\n}",
			want: []string{"x.go:3: starts a goroutine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", tt.src, parser.SkipObjectResolution)
			if err != nil {
				t.Fatalf("parsing the snippet: %v", err)
			}
			if diff := cmp.Diff(tt.want, impurities(fset, f, strict)); diff != "" {
				t.Errorf("impurities (-want +got):\n%s", diff)
			}
		})
	}
}
