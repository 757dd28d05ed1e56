package policies

import "time"

// Bounds are a service's effective replica bounds at one instant.
type Bounds struct {
	Min, Max int32
	// Schedules names the active schedules that overrode the service's bounds, in file order
	// (nil when none did).
	Schedules []string
}

// BoundsAt returns a service's effective bounds at t: its minReplicas and maxReplicas, replaced
// by the overrides of the schedules active at t. With several active overrides the highest floor
// and the lowest ceiling apply; should that floor exceed that ceiling, the floor wins (a pre-warm
// for a known peak matters more than a ceiling), so Min <= Max always holds. ok is false for an
// unknown service. BoundsAt is pure; it allocates only when a schedule is active.
func (p Policy) BoundsAt(service string, t time.Time) (b Bounds, ok bool) {
	svc, ok := p.Service(service)
	if !ok {
		return Bounds{}, false
	}
	b = Bounds{Min: svc.MinReplicas, Max: svc.MaxReplicas}
	var lo, hi *int32
	for _, s := range p.schedules {
		o, has := s.overrides[service]
		if !has || !s.ActiveAt(t) {
			continue
		}
		b.Schedules = append(b.Schedules, s.Name)
		if o.MinReplicas != nil && (lo == nil || *o.MinReplicas > *lo) {
			lo = o.MinReplicas
		}
		if o.MaxReplicas != nil && (hi == nil || *o.MaxReplicas < *hi) {
			hi = o.MaxReplicas
		}
	}
	if lo != nil {
		b.Min = *lo
	}
	if hi != nil {
		b.Max = *hi
	}
	b.Max = max(b.Max, b.Min)
	return b, true
}
