package ops

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Describe implements prometheus.Collector.
func (c *policyCollector) Describe(ch chan<- *prometheus.Desc) {
	d := c.descs
	for _, x := range []*prometheus.Desc{d.desired, d.current, d.ready, d.need, d.held, d.conflicting,
		d.bounds, d.plannedLoad, d.reasons, d.observed, d.missing, d.gpus, d.shortfall, d.lastTick,
		d.sloTarget, d.objective, d.budget, d.lastOK, d.errors, d.decisions, d.risk, d.reserveQuantile, d.burn, d.spent} {
		ch <- x
	}
}

// Collect implements prometheus.Collector: it renders the series under the lock and sends them
// after releasing it, so that a slow scrape never holds up a tick's Record.
func (c *policyCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	e := emitter{d: &c.descs, interned: c.interned, out: make([]prometheus.Metric, 0, c.rendered)}
	for _, ps := range c.policies {
		e.policy(ps)
	}
	c.rendered = len(e.out)
	c.mu.Unlock()
	for _, m := range e.out {
		ch <- m
	}
}

// labelPair returns a new label pair. The registry reads the pairs a metric writes and never
// changes them (client_golang's own metrics share theirs across scrapes too).
func labelPair(name, value string) *dto.LabelPair {
	return &dto.LabelPair{Name: proto.String(name), Value: proto.String(value)}
}

// seriesMetric is one rendered series: a prometheus.Metric over shared label pairs.
type seriesMetric struct {
	desc    *prometheus.Desc
	labels  []*dto.LabelPair // sorted by name
	value   float64
	counter bool
	created *timestamppb.Timestamp // counters
}

// Desc implements prometheus.Metric.
func (m *seriesMetric) Desc() *prometheus.Desc { return m.desc }

// Write implements prometheus.Metric.
func (m *seriesMetric) Write(out *dto.Metric) error {
	out.Label = m.labels
	if m.counter {
		out.Counter = &dto.Counter{Value: &m.value, CreatedTimestamp: m.created}
	} else {
		out.Gauge = &dto.Gauge{Value: &m.value}
	}
	return nil
}

// emitter renders series. It allocates the metrics and their label slices in blocks: a scrape
// of 500 policies renders about 24,000 series.
type emitter struct {
	d        *seriesDescs
	interned map[[2]string]*dto.LabelPair // the collector's; its lock is held
	block    []seriesMetric
	labels   []*dto.LabelPair
	out      []prometheus.Metric
}

// pair returns the interned label pair name=value.
func (e *emitter) pair(name, value string) *dto.LabelPair {
	k := [2]string{name, value}
	p := e.interned[k]
	if p == nil {
		p = labelPair(name, value)
		e.interned[k] = p
	}
	return p
}

// emit renders one series.
func (e *emitter) emit(d *prometheus.Desc, v float64, counter bool, created *timestamppb.Timestamp, pairs ...*dto.LabelPair) {
	if len(e.block) == cap(e.block) {
		e.block = make([]seriesMetric, 0, 1024)
	}
	if cap(e.labels)-len(e.labels) < len(pairs) {
		e.labels = make([]*dto.LabelPair, 0, 4096)
	}
	start := len(e.labels)
	for _, p := range pairs { // insertion sort by name: at most 6 pairs
		i := len(e.labels)
		e.labels = append(e.labels, p)
		for ; i > start && e.labels[i-1].GetName() > p.GetName(); i-- {
			e.labels[i] = e.labels[i-1]
		}
		e.labels[i] = p
	}
	e.block = append(e.block, seriesMetric{desc: d, labels: e.labels[start:len(e.labels):len(e.labels)],
		value: v, counter: counter, created: created})
	e.out = append(e.out, &e.block[len(e.block)-1])
}

func (e *emitter) gauge(d *prometheus.Desc, v float64, pairs ...*dto.LabelPair) {
	e.emit(d, v, false, nil, pairs...)
}

// policy renders one policy's series.
func (e *emitter) policy(ps *policySeries) {
	d, pp := e.d, ps.pair
	if ps.ticked {
		e.gauge(d.lastTick, ps.lastTick, pp)
		e.gauge(d.lastOK, ps.lastOK, pp)
		for i, s := range ps.slo {
			if s.set {
				e.gauge(d.sloTarget, s.target, pp, e.pair(lSignal, string(sloSignals[i])), e.pair("percentile", s.percentile))
			}
		}
		if ps.objective > 0 {
			e.gauge(d.objective, ps.objective, pp)
		}
		if ps.budget > 0 {
			e.gauge(d.budget, ps.budget, pp)
		}
	}
	for _, c := range ps.errors {
		e.emit(d.errors, c.n, true, c.created, pp, e.pair(lStage, c.a), e.pair(lKind, c.b))
	}
	for _, c := range ps.decisions {
		e.emit(d.decisions, c.n, true, c.created, pp, e.pair(lOutcome, c.a))
	}
	if ps.decided {
		e.gauge(d.gpus, ps.gpus, pp)
		e.gauge(d.shortfall, ps.shortfall, pp)
		for i, sig := range signalNames {
			sp := e.pair(lSignal, sig)
			if ps.present&(1<<i) != 0 {
				e.gauge(d.observed, ps.observed[i], pp, sp)
			}
			e.gauge(d.missing, boolFloat(ps.missing&(1<<i) != 0), pp, sp)
		}
	}
	for _, s := range ps.services {
		e.service(pp, s)
	}
}

// service renders one service's series.
func (e *emitter) service(pp *dto.LabelPair, s *serviceSeries) {
	d := e.d
	ns, dep, svc := s.pairs[0], s.pairs[1], s.pairs[2]
	for _, g := range []struct {
		d *prometheus.Desc
		v float64
	}{{d.desired, s.desired}, {d.current, s.current}, {d.ready, s.ready}, {d.need, s.need},
		{d.held, s.held}, {d.conflicting, s.conflicting}} {
		e.gauge(g.d, g.v, pp, ns, dep, svc)
	}
	if s.hasBounds {
		e.gauge(d.bounds, s.min, pp, ns, dep, svc, e.pair(lBound, "min"))
		e.gauge(d.bounds, s.max, pp, ns, dep, svc, e.pair(lBound, "max"))
	}
	for i, sig := range loadSignals {
		e.gauge(d.plannedLoad, s.load[i], pp, ns, dep, svc, e.pair(lSignal, sig))
	}
	for _, c := range s.reasons {
		e.emit(d.reasons, c.n, true, c.created, pp, ns, dep, svc, e.pair(lStep, c.a), e.pair(lCode, c.b))
	}
	if b := s.budget; b.Known {
		e.gauge(d.risk, b.Risk, pp, ns, dep, svc)
		e.gauge(d.reserveQuantile, b.ReserveQuantile, pp, ns, dep, svc)
		if b.Measured {
			e.gauge(d.burn, b.Burn, pp, ns, dep, svc)
			e.gauge(d.spent, b.Spent, pp, ns, dep, svc)
		}
	}
}
