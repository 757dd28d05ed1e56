package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is a check's outcome.
type Status string

// The outcomes, from best to worst. Only Fail makes `tidal doctor` exit non-zero.
const (
	// OK: the check passed.
	OK Status = "ok"
	// Skip: the check does not apply (or an earlier failure makes it meaningless); Detail says why.
	Skip Status = "skip"
	// Warn: tidal can run, but something will degrade its decisions, or the check could not be made.
	Warn Status = "warn"
	// Fail: tidal would not work as configured (or would fight another writer).
	Fail Status = "fail"
)

// Check names, stable for scripts and the troubleshooting guide (docs/troubleshooting.md).
const (
	CheckPolicies   = "policies"
	CheckKube       = "kubernetes"
	CheckPrometheus = "prometheus"
	CheckScrape     = "scrape-interval"
	CheckSignal     = "signal"
	CheckDeployment = "deployment"
	CheckAdapter    = "scaling-adapter"
	CheckRBAC       = "rbac"
	CheckWriters    = "competing-writers"
	CheckBudget     = "gpu-budget"
)

// Result is one line of the checklist.
type Result struct {
	// Policy is the policy's metadata.name ("" for checks of tidal itself, e.g. its Lease).
	Policy string `json:"policy,omitempty"`
	// Check is one of the Check* names; Subject narrows it (a signal, a service, a verb).
	Check   string `json:"check"`
	Subject string `json:"subject,omitempty"`
	Status  Status `json:"status"`
	// Detail says what was found.
	Detail string `json:"detail"`
	// Query is the PromQL of a signal check.
	Query string `json:"query,omitempty"`
	// Fix says what to do about a warning or a failure.
	Fix string `json:"fix,omitempty"`
}

// Report is the whole checklist.
type Report struct {
	Results []Result `json:"results"`
}

// Count returns how many results have status s.
func (r Report) Count(s Status) int {
	n := 0
	for _, x := range r.Results {
		if x.Status == s {
			n++
		}
	}
	return n
}

// Failed reports whether any check failed.
func (r Report) Failed() bool { return r.Count(Fail) > 0 }

// add appends a result.
func (r *Report) add(res Result) { r.Results = append(r.Results, res) }

// WriteJSON writes the report as one JSON object: the results and a summary of counts.
func (r Report) WriteJSON(w io.Writer) error {
	out := struct {
		Results []Result       `json:"results"`
		Summary map[Status]int `json:"summary"`
	}{r.Results, map[Status]int{OK: r.Count(OK), Skip: r.Count(Skip), Warn: r.Count(Warn), Fail: r.Count(Fail)}}
	if out.Results == nil {
		out.Results = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteText writes the checklist for a terminal: one line per check grouped by policy, with the
// query and the fix indented under a warning or failure, then a summary line.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	policy := "\x00"
	for _, x := range r.Results {
		if x.Policy != policy {
			policy = x.Policy
			if policy == "" {
				b.WriteString("tidal\n")
			} else {
				fmt.Fprintf(&b, "policy %s\n", policy)
			}
		}
		name := x.Check
		if x.Subject != "" {
			name += " " + x.Subject
		}
		fmt.Fprintf(&b, "  %-6s %-32s %s\n", "["+strings.ToUpper(string(x.Status))+"]", name, x.Detail)
		if x.Status == Warn || x.Status == Fail {
			if x.Query != "" {
				fmt.Fprintf(&b, "         query: %s\n", x.Query)
			}
			if x.Fix != "" {
				fmt.Fprintf(&b, "         fix:   %s\n", x.Fix)
			}
		}
	}
	fmt.Fprintf(&b, "\n%d ok, %d warnings, %d failed, %d skipped\n", r.Count(OK), r.Count(Warn), r.Count(Fail), r.Count(Skip))
	_, err := io.WriteString(w, b.String())
	return err
}
