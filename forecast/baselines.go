package forecast

import "fmt"

// lastValue forecasts the newest value at every horizon (the random-walk baseline). As
// last-ratio it is the same point forecast with bands from pure actual/last-value ratios.
type lastValue struct{}

func (*lastValue) observe(*history, float64) {}
func (*lastValue) refit(*history)            {}
func (*lastValue) ready(h *history) bool     { return h.n() > 0 }
func (*lastValue) waiting(*history) string   { return "no points yet" }
func (*lastValue) predict(h *history, out []float64) {
	v := h.last()
	for i := range out {
		out[i] = v
	}
}
func (m *lastValue) clone() model   { c := *m; return &c }
func (*lastValue) describe() string { return "newest value" }

// seasonalNaive forecasts the value one season (Period steps) before the target.
type seasonalNaive struct{ period int }

func (*seasonalNaive) observe(*history, float64) {}
func (*seasonalNaive) refit(*history)            {}
func (m *seasonalNaive) ready(h *history) bool   { return m.period >= 2 && h.n() >= m.period }
func (m *seasonalNaive) waiting(h *history) string {
	if m.period < 2 {
		return "no seasonal period configured"
	}
	return fmt.Sprintf("history %d < %d points (one season)", h.n(), m.period)
}
func (m *seasonalNaive) predict(h *history, out []float64) {
	n, P := h.n(), m.period
	if P < 2 || n < P {
		(&lastValue{}).predict(h, out)
		return
	}
	for i := range out {
		out[i] = h.vals[n-P+i%P]
	}
}
func (m *seasonalNaive) clone() model { c := *m; return &c }
func (m *seasonalNaive) describe() string {
	return fmt.Sprintf("value %d steps (one season) earlier", m.period)
}
