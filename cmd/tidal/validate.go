package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tidal-planner/tidal/policies"
)

const validateUsage = `Usage:
  tidal validate FILE|DIR [FILE|DIR ...]

Check policy files: strict decoding (an unknown or misspelt field, or a value of the wrong type,
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
  tidal validate deploy/policies/llama-8b.yaml

  # check everything the planner will load, in CI
  tidal validate policies/prod policies/staging || exit 1
`

// runValidate implements "tidal validate".
func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, validateUsage)
			return 0
		}
		fmt.Fprintf(stderr, "tidal validate: %v\n\n%s", err, validateUsage)
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(stderr, "tidal validate: name at least one policy file or directory\n\n%s", validateUsage)
		return 2
	}
	return validatePaths(fs.Args(), stdout, stderr)
}

// validatePaths checks every policy file under paths, printing summaries to stdout and problems
// to stderr; it returns the exit status.
func validatePaths(paths []string, stdout, stderr io.Writer) int {
	var valid []policies.Policy
	bad, total := 0, 0
	for _, arg := range paths {
		files, err := policies.Files(arg)
		if err != nil {
			fmt.Fprintf(stderr, "%v\n", err)
			bad++
			continue
		}
		for _, f := range files {
			total++
			p, err := policies.LoadFile(f)
			if err != nil {
				printProblems(stderr, err)
				bad++
				continue
			}
			valid = append(valid, p)
			fmt.Fprintln(stdout, summary(p))
		}
	}
	if err := policies.CheckConflicts(valid); err != nil {
		printProblems(stderr, err)
		bad++
	}
	if bad == 0 {
		return 0
	}
	if total > 0 {
		fmt.Fprintf(stderr, "tidal validate: %d of %d policy files are valid; fix the problems above\n", len(valid), total)
	}
	return 1
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
