package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tidal-planner/tidal/planner/sim/compete"
)

// restartFlags are "tidal simulate"'s flags that restart tidal's planner during the run.
type restartFlags struct {
	at       durationList
	noReplay bool
}

func (r *restartFlags) register(fs *flag.FlagSet) {
	fs.Var(&r.at, "restart-at", "restart tidal's planner at these `OFFSETS` from the workload's start, comma-separated (e.g. 12h or 6h,18h), as an upgrade or a lease takeover would: a new state warmed from the load and attainment history up to then")
	fs.BoolVar(&r.noReplay, "restart-no-replay", false, "with --restart-at: do not replay the error budget over the attainment history: a restart as tidal made it before the replay existed")
}

// restart is the compete.Restart the flags ask for (none without --restart-at).
func (r restartFlags) restart(epoch time.Time) compete.Restart {
	if len(r.at) == 0 {
		return compete.Restart{}
	}
	return compete.Restart{Epoch: epoch, At: slices.Clone(r.at), NoReplay: r.noReplay}
}

// describe is the restarts in words for the report, "" without any.
func (r restartFlags) describe() string {
	if len(r.at) == 0 {
		return ""
	}
	how := "error budget replayed"
	if r.noReplay {
		how = "error budget not replayed"
	}
	return fmt.Sprintf("tidal restarted at %s (%s)", r.at.String(), how)
}

// durationList is a flag.Value of ascending positive durations, comma-separated.
type durationList []time.Duration

// String implements flag.Value.
func (l *durationList) String() string {
	if l == nil {
		return ""
	}
	parts := make([]string, len(*l))
	for i, d := range *l {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// Set implements flag.Value.
func (l *durationList) Set(s string) error {
	var out durationList
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return fmt.Errorf("%q: want durations such as 12h or 6h,18h", part)
		}
		if d <= 0 {
			return fmt.Errorf("%q: a restart must come after the workload's start", part)
		}
		if len(out) > 0 && d <= out[len(out)-1] {
			return fmt.Errorf("%q: restarts must be in ascending order", s)
		}
		out = append(out, d)
	}
	*l = out
	return nil
}
