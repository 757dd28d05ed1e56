package planner

// rateLimit bounds the change per decision to maxStepUp / maxStepDown (0 = unbounded).
func (r *run) rateLimit() {
	s := r.p.Stability
	if s.MaxStepUp > 0 && r.want > r.cur+s.MaxStepUp {
		r.add(StepRateLimit, CodeMaxStepUp, r.want, r.cur+s.MaxStepUp, 0, float64(s.MaxStepUp), "")
		r.want = r.cur + s.MaxStepUp
	}
	if s.MaxStepDown > 0 && r.want < r.cur-s.MaxStepDown {
		r.add(StepRateLimit, CodeMaxStepDown, r.want, r.cur-s.MaxStepDown, 0, float64(s.MaxStepDown), "")
		r.want = r.cur - s.MaxStepDown
	}
}
