package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tidal-planner/tidal/policies"
)

// parseInterspersed parses fs over args allowing flags after positional arguments (tidal
// validate a.yaml --help, tidal forecast series.csv --horizon 3), as most CLIs do; "--" ends
// the flags. It returns the positional arguments in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil // everything after "--" is positional
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// helpCommand runs `tidal help [CMD]`: the command's --help, or the overview.
func helpCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, []string{"--help"}, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "tidal help: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

const policyUsage = `Usage:
  tidal policy show FILE

Prints the policy in FILE as tidal runs it: every default filled in (Prometheus URL, window,
planning interval, forecast, stability, ...), as YAML that tidal accepts back. An invalid file
prints its problems instead, like tidal validate.

Examples:
  tidal policy show policies/examples/aggregated.yaml
  tidal policy show my-policy.yaml > effective.yaml && diff my-policy.yaml effective.yaml
`

// runPolicy implements "tidal policy show".
func runPolicy(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("policy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, policyUsage)
		return 0
	}
	if err == nil && (len(pos) != 2 || pos[0] != "show") {
		err = errors.New("want: show FILE")
	}
	if err != nil {
		fmt.Fprintf(stderr, "tidal policy: %v\n\n%s", err, policyUsage)
		return 2
	}
	data, err := os.ReadFile(pos[1])
	if err != nil {
		fmt.Fprintf(stderr, "tidal policy: %v\n", err)
		return 1
	}
	doc, err := policies.Effective(data, pos[1])
	if err == nil {
		var out []byte
		if out, err = policies.Marshal(doc); err == nil {
			_, err = stdout.Write(out)
		}
	}
	if err != nil {
		printProblems(stderr, err)
		return 1
	}
	return 0
}
