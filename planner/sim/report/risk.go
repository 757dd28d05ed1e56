package report

import "fmt"

// RiskSeries is one service's error-budget controller over tidal's decisions (first seed): the
// reserve quantile it left at each decision, at seconds from the workload's start.
type RiskSeries struct {
	Service  string
	Time     []float64
	Quantile []float64
}

// riskPlot draws each service's reserve quantile over time: it rises toward its tightest level
// while misses burn the budget faster than the service's share, and falls toward its loosest while
// the budget is under-spent.
func riskPlot(risk []RiskSeries) (*chart, error) {
	p := newPlot("tidal's error budget: reserve quantile per service", "quantile")
	lo, hi := 1.0, 0.0
	for i, r := range risk {
		for _, q := range r.Quantile {
			lo, hi = min(lo, q), max(hi, q)
		}
		if err := addLine(p, r.Service, xy(r.Time, r.Quantile, false), i, false); err != nil {
			return nil, fmt.Errorf("%s: %w", r.Service, err)
		}
	}
	if lo <= hi {
		p.Y.Min, p.Y.Max = max(lo-0.02, 0), min(hi+0.02, 1)
	}
	return p, nil
}
