package planner

// schedule applies the schedules active now, with policies.Policy.BoundsAt's rule: the highest
// floor and the lowest ceiling among them, and the floor wins should they cross.
func (r *run) schedule() {
	var lo, hi *int32
	var loName, hiName string
	for k := range r.p.NumSchedules() {
		sc := r.p.ScheduleAt(k)
		ov, ok := sc.Override(r.svc.Name)
		if !ok || !sc.ActiveAt(r.now) {
			continue
		}
		if ov.MinReplicas != nil && (lo == nil || *ov.MinReplicas > *lo) {
			lo, loName = ov.MinReplicas, sc.Name
		}
		if ov.MaxReplicas != nil && (hi == nil || *ov.MaxReplicas < *hi) {
			hi, hiName = ov.MaxReplicas, sc.Name
		}
	}
	if hi != nil && r.want > *hi {
		r.add(StepSchedule, CodeScheduleCeiling, r.want, *hi, 0, float64(*hi), hiName)
		r.want = *hi
	}
	if lo != nil && r.want < *lo {
		r.add(StepSchedule, CodeScheduleFloor, r.want, *lo, 0, float64(*lo), loName)
		r.want = *lo
	}
}
