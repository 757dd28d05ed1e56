package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are stamped at build time by .ci/build-binary (the image's build stage):
// -ldflags "-X main.version=v1.2.3 -X main.commit=<git sha>".
var (
	version = "dev"
	commit  = ""
)

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: tidal version\n\nPrints tidal's version, the Go version and the commit it was built from.\n")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fmt.Fprintln(stdout, versionLine())
	return 0
}

// versionLine is what `tidal version` and `tidal --version` print: the stamped version, the Go
// version, and the stamped commit, else the VCS revision Go recorded, else "unknown".
func versionLine() string {
	rev := commit
	if rev == "" {
		rev = "unknown"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					rev = s.Value
				}
			}
		}
	}
	return fmt.Sprintf("tidal %s (%s, revision %s)", version, runtime.Version(), rev)
}
