package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/tidal-planner/tidal/planner/sim"
)

// Workload describes what was replayed, for the report's header and the JSON's "workload".
type Workload struct {
	Name      string  `json:"name"`
	Format    string  `json:"format"`
	Source    string  `json:"source"`
	Requests  int     `json:"requests"`
	Hours     float64 `json:"hours"`
	MeanRate  float64 `json:"mean_rate_rps"`
	RateScale float64 `json:"rate_scale"`
	Seed      uint64  `json:"seed"`
	// Rejected counts over-context requests counted as SLO misses; Filtered those dropped.
	Rejected int     `json:"rejected_over_context"`
	Filtered int     `json:"filtered_over_context"`
	Policy   string  `json:"policy"`
	Profile  string  `json:"profile"`
	TTFTms   float64 `json:"ttft_target_ms"`
	ITLms    float64 `json:"itl_target_ms"`
	// Objective is the SLO's attainment objective (slo.objective), a fraction.
	Objective float64 `json:"objective"`
	// TidalRestarts says when tidal's planner was restarted during the run, and how; "" for never.
	TidalRestarts string `json:"tidal_restarts,omitempty"`
}

// Entry is one planner's run.
type Entry struct {
	Planner string
	// Result is the run of the first seed (the plots, the latency percentiles, the books).
	Result sim.Result
	// Runs holds one result per seed when several were run (Runs[0] is Result); nil for one.
	Runs []sim.Result
	// Seeds are the seeds of Runs.
	Seeds []uint64
	// Note says anything particular of this planner's run (e.g. the static allocation found).
	Note string
}

// Stat is a mean and standard deviation over seeds (SD 0 for one seed).
type Stat struct{ Mean, SD float64 }

// Over returns the mean and sample standard deviation of f over the entry's runs.
func (e Entry) Over(f func(sim.Result) float64) Stat {
	runs := e.Runs
	if len(runs) == 0 {
		runs = []sim.Result{e.Result}
	}
	var s, s2 float64
	for _, r := range runs {
		v := f(r)
		s += v
		s2 += v * v
	}
	n := float64(len(runs))
	st := Stat{Mean: s / n}
	if n > 1 {
		st.SD = math.Sqrt(max(s2-n*st.Mean*st.Mean, 0) / (n - 1))
	}
	return st
}

func attainment(r sim.Result) float64  { return r.Attainment }
func gpuHours(r sim.Result) float64    { return r.GPUHours }
func scaleEvents(r sim.Result) float64 { return float64(r.ScaleEvents) }

// Table writes the comparison as an aligned text table.
func Table(w io.Writer, wl Workload, es []Entry) error {
	fmt.Fprintf(w, "workload %s (%s): %d requests over %.1f h, mean %.2f req/s", wl.Name, wl.Format, wl.Requests, wl.Hours, wl.MeanRate)
	if wl.RateScale != 1 {
		fmt.Fprintf(w, ", rate x%g", wl.RateScale)
	}
	fmt.Fprintf(w, "\nSLO: TTFT <= %g ms and mean ITL <= %g ms per request", wl.TTFTms, wl.ITLms)
	if wl.Rejected > 0 || wl.Filtered > 0 {
		fmt.Fprintf(w, "; over-context: %d rejected (counted as misses), %d filtered", wl.Rejected, wl.Filtered)
	}
	fmt.Fprintln(w)
	if wl.TidalRestarts != "" {
		fmt.Fprintln(w, wl.TidalRestarts)
	}
	if len(es) > 0 && len(es[0].Runs) > 1 {
		fmt.Fprintf(w, "%d seeds (%v): attainment, GPU-hours and scale events are mean ± sd; latencies, books and notes are seed %d's\n",
			len(es[0].Runs), es[0].Seeds, es[0].Seeds[0])
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "planner\tSLO attain.\tGPU-hours\tTTFT p50\tp90\tp99 ms\tITL p50\tp90\tp99 ms\tscale events\t")
	for _, e := range es {
		r := e.Result
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", e.Planner,
			stat(e.Over(attainment), 100, "%.2f%%"), stat(e.Over(gpuHours), 1, "%.1f"),
			ms(r.TTFT.P50), ms(r.TTFT.P90), ms(r.TTFT.P99), ms(r.ITL.P50), ms(r.ITL.P90), ms(r.ITL.P99),
			stat(e.Over(scaleEvents), 1, "%.0f"))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the comparison table: %w", err)
	}
	books(w, es)
	alerts(w, wl.Objective, es)
	for _, e := range es {
		if e.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", e.Planner, e.Note)
		}
	}
	return nil
}

// stat formats a mean (x k) and, over several seeds, its sd.
func stat(s Stat, k float64, format string) string {
	v := fmt.Sprintf(format, s.Mean*k)
	if s.SD > 0 {
		v += fmt.Sprintf(" ±"+strings.TrimSuffix(format, "%%"), s.SD*k)
	}
	return v
}

// books writes each planner's GPU-hours and scale events per service and its misses by cause.
func books(w io.Writer, es []Entry) {
	fmt.Fprintln(w, "per service: GPU-hours / scale events; misses by cause: TTFT / ITL / rejected")
	for _, e := range es {
		var parts []string
		for _, s := range e.Result.Services {
			parts = append(parts, fmt.Sprintf("%s %.1f / %d", s.Name, s.GPUHours, s.ScaleEvents))
		}
		m := e.Result.Misses
		fmt.Fprintf(w, "  %s: %s; misses %d / %d / %d\n", e.Planner, strings.Join(parts, ", "), m.TTFT, m.ITL, m.Rejected)
	}
}

func ms(s float64) string {
	v := s * 1000
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// document is the JSON shape of tidal simulate --json.
type document struct {
	Workload Workload     `json:"workload"`
	Results  []jsonResult `json:"results"`
}

type jsonResult struct {
	Planner       string      `json:"planner"`
	GPUHours      float64     `json:"gpu_hours"`
	SLOAttainment float64     `json:"slo_attainment"`
	TTFTms        percentiles `json:"ttft_ms"`
	ITLms         percentiles `json:"itl_ms"`
	Requests      int         `json:"requests"`
	Met           int         `json:"met"`
	ScaleEvents   int         `json:"scale_events"`
	Note          string      `json:"note,omitempty"`
	// Added by issue 10: the books, and the spread over seeds (the fields above are then means,
	// requests/met/percentiles the first seed's).
	Services     []jsonService `json:"services"`
	Misses       jsonMisses    `json:"misses"`
	MissesByHour []jsonMisses  `json:"misses_by_hour"`
	Seeds        int           `json:"seeds"`
	AttainmentSD float64       `json:"slo_attainment_sd"`
	GPUHoursSD   float64       `json:"gpu_hours_sd"`
	PerSeed      []jsonSeed    `json:"per_seed,omitempty"`
	// Alerts is how often the rule file's burn-rate alerts would have fired (the first seed's run;
	// absent without an objective).
	Alerts *jsonAlerts `json:"alerts,omitempty"`
}

// jsonAlerts is BurnAlerts for each of BurnRules.
type jsonAlerts struct {
	Pages         int     `json:"pages"`
	PageMinutes   float64 `json:"page_minutes"`
	Tickets       int     `json:"tickets"`
	TicketMinutes float64 `json:"ticket_minutes"`
}

type jsonService struct {
	Name        string  `json:"name"`
	GPUHours    float64 `json:"gpu_hours"`
	ScaleEvents int     `json:"scale_events"`
}

type jsonMisses struct {
	TTFT     int `json:"ttft"`
	ITL      int `json:"itl"`
	Rejected int `json:"rejected"`
}

type jsonSeed struct {
	Seed          uint64  `json:"seed"`
	SLOAttainment float64 `json:"slo_attainment"`
	GPUHours      float64 `json:"gpu_hours"`
	ScaleEvents   int     `json:"scale_events"`
}

type percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
}

func toMS(p sim.Percentiles) percentiles {
	r := func(v float64) float64 { return math.Round(v*1e6) / 1e3 }
	return percentiles{P50: r(p.P50), P90: r(p.P90), P99: r(p.P99)}
}

// JSON writes the comparison as the JSON document of tidal simulate --json.
func JSON(w io.Writer, wl Workload, es []Entry) error {
	doc := document{Workload: wl}
	for _, e := range es {
		doc.Results = append(doc.Results, jsonEntry(e, wl.Objective))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing the JSON results: %w", err)
	}
	return nil
}

func jsonEntry(e Entry, objective float64) jsonResult {
	r := e.Result
	att, gh, ev := e.Over(attainment), e.Over(gpuHours), e.Over(scaleEvents)
	j := jsonResult{Planner: e.Planner, GPUHours: round(gh.Mean, 3), SLOAttainment: round(att.Mean, 6),
		TTFTms: toMS(r.TTFT), ITLms: toMS(r.ITL), Requests: r.Requests, Met: r.Met,
		ScaleEvents: int(math.Round(ev.Mean)), Note: e.Note, Misses: toMisses(r.Misses),
		MissesByHour: []jsonMisses{}, Seeds: max(len(e.Runs), 1),
		AttainmentSD: round(att.SD, 6), GPUHoursSD: round(gh.SD, 3)}
	for _, s := range r.Services {
		j.Services = append(j.Services, jsonService{Name: s.Name, GPUHours: round(s.GPUHours, 3), ScaleEvents: s.ScaleEvents})
	}
	for _, m := range r.MissesByHour {
		j.MissesByHour = append(j.MissesByHour, toMisses(m))
	}
	for i, run := range e.Runs {
		j.PerSeed = append(j.PerSeed, jsonSeed{Seed: e.Seeds[i], SLOAttainment: round(run.Attainment, 6),
			GPUHours: round(run.GPUHours, 3), ScaleEvents: run.ScaleEvents})
	}
	if hasObjective(objective) {
		f := burnFirings(r.Series, objective)
		p, t := f[0], f[1]
		j.Alerts = &jsonAlerts{Pages: p.Episodes, PageMinutes: p.Duration.Minutes(),
			Tickets: t.Episodes, TicketMinutes: t.Duration.Minutes()}
	}
	return j
}

func toMisses(m sim.Misses) jsonMisses {
	return jsonMisses{TTFT: m.TTFT, ITL: m.ITL, Rejected: m.Rejected}
}

func round(v float64, digits int) float64 {
	k := math.Pow(10, float64(digits))
	return math.Round(v*k) / k
}

// Markdown writes the comparison as a Markdown table (for docs): attainment and GPU-hours (mean ±
// sd over seeds), tidal's ratio to each, GPU-hours per service, misses by cause, scale events and,
// with an objective, the burn-rate alerts the first seed's run would have fired.
func Markdown(w io.Writer, wl Workload, es []Entry) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests over %.1f h (mean %.2f req/s); SLO TTFT <= %g ms and mean ITL <= %g ms; engines: %s",
		wl.Requests, wl.Hours, wl.MeanRate, wl.TTFTms, wl.ITLms, wl.Profile)
	if wl.Rejected > 0 || wl.Filtered > 0 {
		fmt.Fprintf(&b, "; over-context: %d rejected, %d filtered", wl.Rejected, wl.Filtered)
	}
	if len(es) > 0 && len(es[0].Runs) > 1 {
		fmt.Fprintf(&b, "; seeds %v (mean ± sd; the rest is seed %d's)", es[0].Seeds, es[0].Seeds[0])
	}
	head, rule := "| planner | SLO attainment | GPU-hours | GPU-hours per service | misses TTFT / ITL / rejected | TTFT p90 / p99 ms | scale events |", "|---|---:|---:|---|---:|---:|---:|"
	if hasObjective(wl.Objective) {
		head, rule = head+" pages / tickets |", rule+"---:|"
	}
	fmt.Fprintf(&b, ".\n\n%s\n%s\n", head, rule)
	for _, e := range es {
		r := e.Result
		var svc []string
		for _, s := range r.Services {
			svc = append(svc, fmt.Sprintf("%s %.1f", s.Name, s.GPUHours))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d / %d / %d | %s / %s | %s |%s\n", e.Planner,
			stat(e.Over(attainment), 100, "%.2f%%"), stat(e.Over(gpuHours), 1, "%.1f"), strings.Join(svc, ", "),
			r.Misses.TTFT, r.Misses.ITL, r.Misses.Rejected, ms(r.TTFT.P90), ms(r.TTFT.P99), stat(e.Over(scaleEvents), 1, "%.0f"),
			alertCell(r.Series, wl.Objective))
	}
	b.WriteString("\n")
	for _, e := range es {
		if e.Note != "" {
			fmt.Fprintf(&b, "- %s: %s\n", e.Planner, e.Note)
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the Markdown table: %w", err)
	}
	return nil
}
