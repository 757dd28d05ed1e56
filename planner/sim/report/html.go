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
)

// HTML writes dir/index.html and its SVG plots: prefill and decode load against each planner's
// ready capacity, replicas per service, and each planner's TTFT and ITL percentiles per step with
// the SLO target. dir is created if needed; existing files of the same names are replaced.
func HTML(dir string, wl Workload, es []Entry) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the report directory: %w", err)
	}
	var figs []figure
	add := func(name, caption string, p *plot.Plot, err error) error {
		if err != nil {
			return fmt.Errorf("plotting %s: %w", name, err)
		}
		if err := save(p, filepath.Join(dir, name)); err != nil {
			return err
		}
		figs = append(figs, figure{File: name, Caption: caption})
		return nil
	}
	p, err := loadPlot("Prefill: input tokens/s arriving vs ready capacity", es,
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
func latencyPlots(wl Workload, es []Entry, add func(string, string, *plot.Plot, error) error) error {
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

func save(p *plot.Plot, path string) error {
	if err := p.Save(9*vg.Inch, 3.6*vg.Inch, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
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

func newPlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "hours"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, name string, pts plotter.XYs, i int, dashed bool) error {
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
	p.Legend.Add(name, l)
	return nil
}

func loadPlot(title string, es []Entry, pick func(*seriesOf) ([]float64, []float64)) (*plot.Plot, error) {
	p := newPlot(title, "tokens/s")
	for i, e := range es {
		s := e.Result.Series
		load, capacity := pick(&seriesOf{s.PrefillLoad, s.PrefillCapacity, s.DecodeLoad, s.DecodeCapacity})
		if i == 0 {
			if err := addLine(p, "load", xy(s.Time, load, false), 7, false); err != nil {
				return nil, err
			}
		}
		if err := addLine(p, e.Planner+" capacity", xy(s.Time, capacity, false), i, true); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func replicaPlot(svc string, idx int, es []Entry) (*plot.Plot, error) {
	p := newPlot("Desired replicas: "+svc, "replicas")
	for i, e := range es {
		s := e.Result.Series
		if idx >= len(s.Services) {
			continue
		}
		if err := addLine(p, e.Planner, xy(s.Time, s.Services[idx].Desired, false), i, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// latencyPlot draws p50/p90/p99 per step (ms, log scale) and the target.
func latencyPlot(title string, t []float64, ps sim.PercentileSeries, targetMS float64) (*plot.Plot, error) {
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
