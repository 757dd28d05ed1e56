// Command tidal is an LLM-aware autoscaling planner for NVIDIA Dynamo deployments on Kubernetes.
//
// Run "tidal --help" for the subcommands.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand. run gets the arguments after the subcommand's name and returns the
// process exit status.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order --help shows them.
func commands() []command {
	return []command{
		{"doctor", "check a set-up before trusting tidal with it: a checklist with a fix per failure", runDoctor},
		{"forecast", "replay a load series with rolling-origin forecasts and score the methods", runForecast},
		{"policy", "show a policy as tidal runs it, defaults filled in (policy show FILE)", runPolicy},
		{"run", "run the planner: observe, plan and scale every policy's deployment", runRun},
		{"simulate", "replay a workload against a simulated deployment and compare planners", runSimulate},
		{"validate", "check policy files and print a summary or every error", runValidate},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// dispatch runs the subcommand named by args[0].
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		fmt.Fprintln(stdout, versionLine())
		return 0
	}
	if len(args) > 0 && args[0] == "help" {
		return helpCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "tidal: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `tidal plans the replicas of NVIDIA Dynamo LLM inference deployments from latency SLOs,
forecast load and a performance model.

Usage:
  tidal <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "tidal help <command>" (or "tidal <command> --help") for a command's flags and examples,
"tidal --version" for the version.
`)
}

// printUsage writes a subcommand's help: its text, its flags with defaults, then its examples.
// The flag set's own output stays discarded so parse errors are reported once, by the caller.
func printUsage(w io.Writer, fs *flag.FlagSet, text, examples string) {
	fmt.Fprint(w, text)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprint(w, examples)
}
