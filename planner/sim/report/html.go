package report

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tidal-planner/tidal/planner/sim"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// HTML writes dir/index.html and its SVG plots: every planner's GPUs and SLO attainment over time
// (one figure each), prefill and decode load against each planner's ready capacity, replicas per
// service, each planner's TTFT and ITL percentiles per step with the SLO target, and, when risk
// holds any, tidal's error-budget controller per service. Y-axes fit tidal, hindsight and static
// (others are clipped); legends sit right of the plots. dir is created if needed; existing files
// of the same names are replaced.
func HTML(dir string, wl Workload, es []Entry, risk []RiskSeries) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the report directory: %w", err)
	}
	var figs []figure
	add := func(name, caption string, p *chart, err error) error {
		if err != nil {
			return fmt.Errorf("plotting %s: %w", name, err)
		}
		if err := save(p, filepath.Join(dir, name)); err != nil {
			return err
		}
		figs = append(figs, figure{File: name, Caption: caption})
		return nil
	}
	p, err := gpuPlot(es)
	if err := add("gpus.svg", "GPUs in use, every planner", p, err); err != nil {
		return err
	}
	p, err = attainmentPlot(es)
	if err := add("attainment.svg", "SLO attainment over time, every planner", p, err); err != nil {
		return err
	}
	if len(risk) > 0 {
		p, err := riskPlot(risk)
		if err := add("risk.svg", "tidal's error budget: the reserve quantile each service's controller chose "+
			"(up while misses burn the budget faster than the service's share, down while it is under-spent)", p, err); err != nil {
			return err
		}
	}
	p, err = loadPlot("Prefill: input tokens/s arriving vs ready capacity", es,
		func(s *seriesOf) ([]float64, []float64) { return s.PrefillLoad, s.PrefillCapacity })
	if err := add("load-prefill.svg", "Prefill load and capacity", p, err); err != nil {
		return err
	}
	p, err = loadPlot("Decode: output tokens/s vs ready capacity within the ITL target", es,
		func(s *seriesOf) ([]float64, []float64) { return s.DecodeLoad, s.DecodeCapacity })
	if err := add("load-decode.svg", "Decode load and capacity", p, err); err != nil {
		return err
	}
	if len(es) > 0 {
		for i, svc := range es[0].Result.Series.Services {
			p, err := replicaPlot(svc.Name, i, es)
			if err := add("replicas-"+slug(svc.Name)+".svg", "Desired replicas of "+svc.Name, p, err); err != nil {
				return err
			}
		}
	}
	if err := latencyPlots(wl, es, add); err != nil {
		return err
	}
	return writeIndex(filepath.Join(dir, "index.html"), wl, es, figs)
}

// latencyPlots adds each planner's TTFT and ITL percentile plots.
func latencyPlots(wl Workload, es []Entry, add func(string, string, *chart, error) error) error {
	for _, e := range es {
		t := e.Result.Series.Time
		p, err := latencyPlot("TTFT of "+e.Planner, t, e.Result.Series.TTFT, wl.TTFTms)
		if err := add("ttft-"+slug(e.Planner)+".svg", "TTFT percentiles, "+e.Planner, p, err); err != nil {
			return err
		}
		p, err = latencyPlot("Mean ITL per request of "+e.Planner, t, e.Result.Series.ITL, wl.ITLms)
		if err := add("itl-"+slug(e.Planner)+".svg", "ITL percentiles, "+e.Planner, p, err); err != nil {
			return err
		}
	}
	return nil
}

type seriesOf = struct {
	PrefillLoad, PrefillCapacity, DecodeLoad, DecodeCapacity []float64
}

type figure struct {
	File, Caption string
}

// chart is a plot with its legend kept apart: the legend is drawn in a column right of the
// plot, so it never covers a line.
type chart struct {
	*plot.Plot
	key plot.Legend
}

const (
	figW    = 9.5 * vg.Inch
	figH    = 3.6 * vg.Inch
	legendW = 1.7 * vg.Inch
)

func save(c *chart, path string) error {
	img := vgsvg.New(figW, figH)
	dc := draw.New(img)
	c.Draw(draw.Crop(dc, 0, -legendW, 0, 0))
	c.key.Draw(draw.Crop(dc, figW-legendW+vg.Points(6), 0, 0, -vg.Points(24)))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := img.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// references are the planners a reader compares first; y-axes fit them, and other planners'
// lines are clipped where they leave that range.
var references = map[string]bool{"tidal": true, "hindsight": true, "static": true}

// fitY sets the y-axis to [0, 1.08 x the largest value of the reference lines] when some
// reference line exists.
func fitY(c *chart, top float64) {
	if top > 0 && !math.IsInf(top, 0) {
		c.Y.Min, c.Y.Max = 0, 1.08*top
	}
}

// maxOf is the largest finite value of v (0 if none).
func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			m = max(m, x)
		}
	}
	return m
}

// xy pairs hours with values, dropping NaN and (for log axes) non-positive points.
func xy(t, v []float64, positive bool) plotter.XYs {
	pts := make(plotter.XYs, 0, len(v))
	for i := range min(len(t), len(v)) {
		if math.IsNaN(v[i]) || math.IsInf(v[i], 0) || (positive && v[i] <= 0) {
			continue
		}
		pts = append(pts, plotter.XY{X: t[i] / 3600, Y: v[i]})
	}
	return pts
}

func newPlot(title, ylabel string) *chart {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "hours"
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	c := &chart{Plot: p, key: plot.NewLegend()}
	c.key.Top, c.key.Left = true, true
	return c
}

func addLine(p *chart, name string, pts plotter.XYs, i int, dashed bool) error {
	if len(pts) == 0 {
		return nil
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("line %s: %w", name, err)
	}
	l.Color = plotutil.Color(i)
	l.Width = vg.Points(1)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	p.key.Add(name, l)
	return nil
}

func loadPlot(title string, es []Entry, pick func(*seriesOf) ([]float64, []float64)) (*chart, error) {
	p := newPlot(title, "tokens/s")
	top := 0.0
	for i, e := range es {
		s := e.Result.Series
		load, capacity := pick(&seriesOf{s.PrefillLoad, s.PrefillCapacity, s.DecodeLoad, s.DecodeCapacity})
		if i == 0 {
			top = maxOf(load)
			if err := addLine(p, "load", xy(s.Time, load, false), 7, false); err != nil {
				return nil, err
			}
		}
		if references[e.Planner] {
			top = max(top, maxOf(capacity))
		}
		if err := addLine(p, e.Planner+" capacity", xy(s.Time, capacity, false), i, true); err != nil {
			return nil, err
		}
	}
	fitY(p, top)
	return p, nil
}

// gpuPlot draws every planner's GPUs in use over time on one figure.
func gpuPlot(es []Entry) (*chart, error) {
	p := newPlot("GPUs in use (starting and draining replicas included)", "GPUs")
	top := 0.0
	for i, e := range es {
		s := e.Result.Series
		if references[e.Planner] {
			top = max(top, maxOf(s.GPUs))
		}
		if err := addLine(p, e.Planner, xy(s.Time, s.GPUs, false), i, false); err != nil {
			return nil, err
		}
	}
	fitY(p, top)
	return p, nil
}

// attainmentPlot draws every planner's SLO attainment per bin (of the requests judged in it) on
// one figure; the axis spans the reference planners' lowest bin to 100%.
func attainmentPlot(es []Entry) (*chart, error) {
	p := newPlot("SLO attainment of the requests finished in each bin", "attainment %")
	lo := 100.0
	for i, e := range es {
		t, a := binAttainment(e.Result.Series)
		if references[e.Planner] {
			for _, v := range a {
				if !math.IsNaN(v) {
					lo = min(lo, v)
				}
			}
		}
		if err := addLine(p, e.Planner, xy(t, a, false), i, false); err != nil {
			return nil, err
		}
	}
	p.Y.Min, p.Y.Max = max(math.Floor(lo-0.5), 0), 100.2
	return p, nil
}

// binAttainment merges the series' steps into bins of 10 minutes (one hour beyond 6 hours) and
// returns each bin's end and attainment in percent (NaN where nothing was judged).
func binAttainment(s sim.Series) ([]float64, []float64) {
	if len(s.Time) == 0 || len(s.Judged) != len(s.Time) {
		return nil, nil
	}
	bin := 600.0
	if s.Time[len(s.Time)-1] > 6*3600 {
		bin = 3600
	}
	var t, a []float64
	var met, n float64
	next := bin
	for i, ts := range s.Time {
		if j := s.Judged[i]; j > 0 {
			met += s.Attainment[i] * j
			n += j
		}
		if ts >= next-1e-9 || i == len(s.Time)-1 {
			v := math.NaN()
			if n > 0 {
				v = 100 * met / n
			}
			t, a = append(t, ts), append(a, v)
			met, n = 0, 0
			next += bin
		}
	}
	return t, a
}

func replicaPlot(svc string, idx int, es []Entry) (*chart, error) {
	p := newPlot("Desired replicas: "+svc, "replicas")
	top := 0.0
	for i, e := range es {
		s := e.Result.Series
		if idx >= len(s.Services) {
			continue
		}
		if references[e.Planner] {
			top = max(top, maxOf(s.Services[idx].Desired))
		}
		if err := addLine(p, e.Planner, xy(s.Time, s.Services[idx].Desired, false), i, false); err != nil {
			return nil, err
		}
	}
	fitY(p, top)
	return p, nil
}

// latencyPlot draws p50/p90/p99 per step (ms, log scale) and the target.
func latencyPlot(title string, t []float64, ps sim.PercentileSeries, targetMS float64) (*chart, error) {
	p := newPlot(title, "ms (log)")
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	toMS := func(v []float64) []float64 {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = x * 1000
		}
		return out
	}
	for i, l := range []struct {
		name string
		v    []float64
	}{{"p50", ps.P50}, {"p90", ps.P90}, {"p99", ps.P99}} {
		if err := addLine(p, l.name, xy(t, toMS(l.v), true), i, false); err != nil {
			return nil, err
		}
	}
	if len(t) > 0 && targetMS > 0 {
		target := plotter.XYs{{X: t[0] / 3600, Y: targetMS}, {X: t[len(t)-1] / 3600, Y: targetMS}}
		if err := addLine(p, "target", target, 3, true); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}

const indexTemplate = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tidal simulate: {{.W.Name}}</title>
<style>body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}
pre{background:#f6f6f6;padding:1em;overflow-x:auto}figure{margin:1.5em 0}
figcaption{font-size:90%;color:#555}img{width:100%}</style></head><body>
<h1>tidal simulate: {{.W.Name}}</h1>
<p>{{.W.Requests}} requests over {{printf "%.1f" .W.Hours}} h ({{.W.Format}}{{if .W.Source}}, {{.W.Source}}{{end}}),
seed {{.W.Seed}}. Policy: {{.W.Policy}}. Profile: {{.W.Profile}}.</p>
<pre>{{.Table}}</pre>
{{range .Figs}}<figure><img src="{{.File}}" alt="{{.Caption}}"><figcaption>{{.Caption}}</figcaption></figure>
{{end}}</body></html>
`

func writeIndex(path string, wl Workload, es []Entry, figs []figure) error {
	var table bytes.Buffer
	if err := Table(&table, wl, es); err != nil {
		return err
	}
	t, err := template.New("index").Parse(indexTemplate)
	if err != nil {
		return fmt.Errorf("parsing the report template: %w", err)
	}
	var out bytes.Buffer
	if err := t.Execute(&out, struct {
		W     Workload
		Table string
		Figs  []figure
	}{wl, table.String(), figs}); err != nil {
		return fmt.Errorf("rendering the report: %w", err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// logTicks labels a log axis at 1, 2 and 5 x 10^k (plot.LogTicks labels powers of ten only,
// which leaves latency axes spanning one decade with a single label).
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	var ts []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for _, m := range []float64{1, 2, 5} {
			if v := m * math.Pow(10, e); v >= lo && v <= hi {
				ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
			}
		}
	}
	return ts
}
