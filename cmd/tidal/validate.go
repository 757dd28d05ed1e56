package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tidal-planner/tidal/policies"
)

const validateUsage = `Usage:
  tidal validate FILE|DIR [FILE|DIR ...]

Check policy files (or ConfigMaps holding them, key by key): strict decoding (an unknown or misspelt field, or a value of the wrong type,
is an error naming the file, the line and the field), defaults, and every validation rule. A
directory means every *.yaml and *.yml file directly inside it. Across all arguments, two policies
with the same name or planning the same DGD service are an error.

For each valid policy it prints one line: file, name, target namespace/DGD and topology, each
service with its replica range and actuation, the number of schedules and the mode. Otherwise it
prints every problem, one per line, as FILE:LINE: FIELD: PROBLEM.

Exit status: 0 when every policy is valid, 1 when any has a problem, 2 on a usage error.

Examples:
  # check the shipped examples
  tidal validate policies/examples

  # check one file before applying it
  tidal validate policies/examples/disaggregated.yaml

  # check the ConfigMap the planner will mount, in CI
  tidal validate deploy/tidal/30-configmap.yaml || exit 1
`

// runValidate implements "tidal validate".
func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	paths, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, validateUsage)
			return 0
		}
		fmt.Fprintf(stderr, "tidal validate: %v\n\n%s", err, validateUsage)
		return 2
	}
	if len(paths) == 0 {
		fmt.Fprintf(stderr, "tidal validate: name at least one policy file or directory\n\n%s", validateUsage)
		return 2
	}
	return validatePaths(paths, stdout, stderr)
}

// validatePaths checks every policy file under paths (a file named twice is checked once), and
// every policy in a ConfigMap's data; it prints summaries to stdout and problems to stderr and
// returns the exit status.
func validatePaths(paths []string, stdout, stderr io.Writer) int {
	var valid []policies.Policy
	bad, total := 0, 0
	seen := map[string]bool{}
	for _, arg := range paths {
		files, err := policies.Files(arg)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			bad++
			continue
		}
		for _, f := range files {
			if abs, err := filepath.Abs(f); err == nil {
				if seen[abs] {
					continue
				}
				seen[abs] = true
			}
			ps, n, err := loadAny(f)
			total += n
			if err != nil {
				printProblems(stderr, err)
				bad++
			}
			for _, p := range ps {
				valid = append(valid, p)
				fmt.Fprintln(stdout, summary(p))
			}
		}
	}
	conflicts := policies.CheckConflicts(valid)
	if conflicts != nil {
		printProblems(stderr, conflicts)
		bad++
	}
	switch {
	case bad == 0:
		return 0
	case len(valid) == total && conflicts != nil:
		fmt.Fprintf(stderr, "tidal validate: each of the %d policies is valid alone, but they conflict with each other; fix the problems above\n", total)
	case total > 0:
		fmt.Fprintf(stderr, "tidal validate: %d of %d policies are valid; fix the problems above\n", len(valid), total)
	}
	return 1
}

// loadAny loads the policies of one file: the file itself when it is a Policy, every *.yaml and
// *.yml key of a ConfigMap (named FILE[KEY]); another kind of object is an error saying what it
// is. n counts the policies the file holds (or would).
func loadAny(file string) (ps []policies.Policy, n int, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, 1, fmt.Errorf("loading policy: %w", err)
	}
	api, kind, ok := policies.EnvelopeOf(data)
	switch {
	case ok && kind == "ConfigMap" && api == "v1":
		return loadConfigMap(file, data)
	case ok && kind != "" && kind != policies.Kind:
		return nil, 1, &policies.FieldError{File: file, Path: "kind", Msg: fmt.Sprintf(
			"this is a %s (apiVersion %s), not a tidal policy (apiVersion %s, kind %s); a ConfigMap holding policies is checked key by key",
			kind, api, policies.APIVersion, policies.Kind)}
	}
	p, err := policies.LoadFile(file)
	if err != nil {
		return nil, 1, err
	}
	return []policies.Policy{p}, 1, nil
}

// loadConfigMap parses every *.yaml and *.yml key of a ConfigMap as a policy file named
// FILE[KEY], as tidal run would read it once mounted.
func loadConfigMap(file string, data []byte) ([]policies.Policy, int, error) {
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(data, &cm); err != nil {
		return nil, 1, fmt.Errorf("%s: reading the ConfigMap: %w", file, err)
	}
	keys := slices.Sorted(maps.Keys(cm.Data))
	var ps []policies.Policy
	var errs []error
	n := 0
	for _, k := range keys {
		if ext := strings.ToLower(filepath.Ext(k)); ext != ".yaml" && ext != ".yml" {
			continue
		}
		n++
		p, err := policies.Parse([]byte(cm.Data[k]), file+"["+k+"]")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ps = append(ps, p)
	}
	if n == 0 {
		errs = append(errs, &policies.FieldError{File: file, Path: "data", Msg: "the ConfigMap holds no *.yaml or *.yml key: no policy to check"})
		n = 1
	}
	return ps, n, errors.Join(errs...)
}

// printProblems writes every problem in err on its own line.
func printProblems(w io.Writer, err error) {
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintln(w, line)
	}
}

// summary is the one-line description of a valid policy.
func summary(p policies.Policy) string {
	var svcs []string
	for _, s := range p.Services() {
		svcs = append(svcs, fmt.Sprintf("%s %s %d..%d %s", s.Name, s.Role, s.MinReplicas, s.MaxReplicas, s.Actuation))
	}
	line := fmt.Sprintf("%s: ok: policy %s -> %s/%s (%s); services: %s; schedules: %d; mode: %s",
		p.Source, p.Name, p.Target.Namespace, p.Target.Deployment, p.Target.Topology,
		strings.Join(svcs, ", "), p.NumSchedules(), p.Mode)
	if p.Budget.MaxGPUs > 0 {
		line += fmt.Sprintf("; budget: %d GPUs", p.Budget.MaxGPUs)
	}
	return line
}
