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
}

// Entry is one planner's run.
type Entry struct {
	Planner string
	Result  sim.Result
	// Note says anything particular of this planner's run (e.g. the static allocation found).
	Note string
}

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
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "planner\tSLO attain.\tGPU-hours\tTTFT p50\tp90\tp99 ms\tITL p50\tp90\tp99 ms\tscale events\t")
	for _, e := range es {
		r := e.Result
		fmt.Fprintf(tw, "%s\t%.2f%%\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t\n", e.Planner, 100*r.Attainment, r.GPUHours,
			ms(r.TTFT.P50), ms(r.TTFT.P90), ms(r.TTFT.P99), ms(r.ITL.P50), ms(r.ITL.P90), ms(r.ITL.P99), r.ScaleEvents)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the comparison table: %w", err)
	}
	for _, e := range es {
		if e.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", e.Planner, e.Note)
		}
	}
	return nil
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
		r := e.Result
		doc.Results = append(doc.Results, jsonResult{Planner: e.Planner, GPUHours: round(r.GPUHours, 3),
			SLOAttainment: round(r.Attainment, 6), TTFTms: toMS(r.TTFT), ITLms: toMS(r.ITL), Requests: r.Requests,
			Met: r.Met, ScaleEvents: r.ScaleEvents, Note: e.Note})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing the JSON results: %w", err)
	}
	return nil
}

func round(v float64, digits int) float64 {
	k := math.Pow(10, float64(digits))
	return math.Round(v*k) / k
}

// Markdown writes the comparison as a Markdown table (for docs).
func Markdown(w io.Writer, es []Entry) error {
	var b strings.Builder
	b.WriteString("| planner | SLO attainment | GPU-hours | TTFT p50/p90/p99 ms | ITL p50/p90/p99 ms | scale events |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|\n")
	for _, e := range es {
		r := e.Result
		fmt.Fprintf(&b, "| %s | %.2f%% | %.1f | %s / %s / %s | %s / %s / %s | %d |\n", e.Planner, 100*r.Attainment,
			r.GPUHours, ms(r.TTFT.P50), ms(r.TTFT.P90), ms(r.TTFT.P99), ms(r.ITL.P50), ms(r.ITL.P90), ms(r.ITL.P99), r.ScaleEvents)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the Markdown table: %w", err)
	}
	return nil
}
