package forecast

import (
	"fmt"

	"gonum.org/v1/gonum/stat"
)

// linearTrend extrapolates a least-squares line through the newest window points.
type linearTrend struct {
	window int
	x      []float64 // 0..window-1, reused
}

func (*linearTrend) observe(*history, float64) {}
func (*linearTrend) refit(*history)            {}
func (m *linearTrend) ready(h *history) bool   { return h.n() >= m.window }
func (m *linearTrend) waiting(h *history) string {
	return fmt.Sprintf("history %d < %d points (trend window)", h.n(), m.window)
}

func (m *linearTrend) predict(h *history, out []float64) {
	w := min(m.window, h.n())
	if w < 2 {
		(&lastValue{}).predict(h, out)
		return
	}
	if len(m.x) != w {
		m.x = make([]float64, w)
		for i := range m.x {
			m.x[i] = float64(i)
		}
	}
	y := h.vals[h.n()-w:]
	alpha, beta := stat.LinearRegression(m.x, y, nil, false)
	for i := range out {
		out[i] = alpha + beta*float64(w+i)
	}
}

func (m *linearTrend) clone() model { c := *m; c.x = nil; return &c }
func (m *linearTrend) describe() string {
	return fmt.Sprintf("least-squares line over the newest %d points", m.window)
}
