package promtest

import (
	"math"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// collector renders the exporter's deployments at each scrape. It describes nothing up front
// (an unchecked collector) because its label sets depend on the deployments.
type collector struct{ e *Exporter }

// Describe sends no descriptors: the collector is unchecked.
func (collector) Describe(chan<- *prometheus.Desc) {}

// Collect advances every deployment to now and emits its series.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	now := c.e.now()
	for _, d := range c.e.deps {
		d.advance(now)
		d.collect(ch)
	}
}

// histogramName is the name of frontend histogram i, in the order of deployment.hists.
func histogramName(i int) string {
	return [...]string{
		"dynamo_frontend_input_sequence_tokens",
		"dynamo_frontend_output_sequence_tokens",
		"dynamo_frontend_time_to_first_token_seconds",
		"dynamo_frontend_inter_token_latency_seconds",
	}[i]
}

// collect emits one deployment's counters, histograms and gauges.
func (d *deployment) collect(ch chan<- prometheus.Metric) {
	base := prometheus.Labels{"model": d.spec.Model, "dynamo_namespace": d.spec.Namespace}
	emit := func(name string, t prometheus.ValueType, v float64, extra prometheus.Labels) {
		labels := merge(base, extra)
		m := prometheus.MustNewConstMetric(prometheus.NewDesc(name, "synthetic "+name, nil, labels), t, v)
		if t == prometheus.GaugeValue && d.spec.ExplicitTimestamps {
			ts := d.last
			if !d.frozenAt.IsZero() {
				ts = d.frozenAt
			}
			m = prometheus.NewMetricWithTimestamp(ts, m)
		}
		ch <- m
	}
	emit("dynamo_frontend_requests_total", prometheus.CounterValue, d.requests, prometheus.Labels{"status": "success"})
	emit("dynamo_frontend_output_tokens_total", prometheus.CounterValue, d.requests*d.spec.OutputTokens.Mean(), nil)
	for i, h := range d.hists {
		bounds := bucketsOf(i)
		buckets := make(map[float64]uint64, len(bounds))
		for j, b := range bounds {
			if h.buckets != nil {
				buckets[b] = uint64(math.Floor(h.buckets[j]))
			}
		}
		desc := prometheus.NewDesc(histogramName(i), "synthetic "+histogramName(i), nil, base)
		ch <- prometheus.MustNewConstHistogram(desc, uint64(math.Floor(h.count)), h.sum, buckets)
	}
	for i, f := range d.spec.Frontends {
		pod := prometheus.Labels{"pod": "frontend-" + strconv.Itoa(i)}
		emit("dynamo_frontend_queued_requests", prometheus.GaugeValue, f.Queued, pod)
		emit("dynamo_frontend_inflight_requests", prometheus.GaugeValue, f.Inflight, pod)
	}
	for _, w := range d.spec.Workers {
		l := prometheus.Labels{"worker_id": w.ID, "dp_rank": "0"}
		if w.Type != "" {
			l["worker_type"] = w.Type
		}
		emit("dynamo_frontend_worker_active_prefill_tokens", prometheus.GaugeValue, w.ActivePrefillTokens, l)
		emit("dynamo_frontend_worker_active_decode_blocks", prometheus.GaugeValue, w.ActiveDecodeBlocks, l)
		emit("dynamo_component_gpu_cache_usage_percent", prometheus.GaugeValue, w.KVUsage, l)
	}
}

// merge returns a new label set with the labels of a and then b.
func merge(a, b prometheus.Labels) prometheus.Labels {
	out := make(prometheus.Labels, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
