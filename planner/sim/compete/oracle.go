package compete

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/policies"
)

// Oracle knows the future arrivals. Every Interval it sets each service to the most replicas any
// Bin of the coming [now, now + startup + Interval] needs, so replicas are requested one startup
// time before the load they serve and released only when no load needing them arrives before a
// replacement could start. A bin's need comes from the true arrivals and the simulator's own
// capacity model:
//
//   - prefill: the fewest engines n for which a fluid FIFO queue served at n x the saturated
//     prefill throughput (at the bin's mean input length) finishes all but MissBudget of the
//     bin's requests within PrefillDelay x the TTFT target of their arrival, the backlog carried
//     over from the previous bin. Requests no engine could prefill in time alone (too long) add
//     work but no constraint.
//   - decode: output tokens/s over the bin / (best decode throughput per GPU under DecodeITL x
//     the ITL target at ISL + OSL/2 x GPUs x DecodeUtil).
//
// An aggregated engine carries the sum. It is the lower reference: a planner with a perfect
// forecast and the same capacity model, still bound by startup times.
type Oracle struct {
	d        sim.Deployment
	interval time.Duration
	bin      float64
	need     [][]float64 // per service, per bin
	epoch    time.Time
}

// OracleOptions tune the oracle; zero fields take the defaults noted.
type OracleOptions struct {
	Interval     time.Duration // 30 s
	Bin          time.Duration // 10 s
	PrefillDelay float64       // 0.9: the share of the TTFT target the fluid queue may use
	// DecodeITL is the share of the ITL target decode is sized for (0.8).
	DecodeITL float64
	// MissBudget is the share of a bin's requests allowed past the delay bound (0.005).
	MissBudget float64
	DecodeUtil float64 // 0.9
	// Epoch is the run's sim.Options.Epoch: the oracle reads the future from now - Epoch.
	Epoch time.Time
}

func (o OracleOptions) withDefaults() OracleOptions {
	if o.Interval <= 0 {
		o.Interval = 30 * time.Second
	}
	if o.Bin <= 0 {
		o.Bin = 10 * time.Second
	}
	if o.PrefillDelay <= 0 {
		o.PrefillDelay = 0.9
	}
	if o.MissBudget <= 0 {
		o.MissBudget = 0.005
	}
	if o.DecodeUtil <= 0 {
		o.DecodeUtil = 0.9
	}
	if o.DecodeITL <= 0 {
		o.DecodeITL = 0.8
	}
	return o
}

// NewOracle prepares the oracle's per-bin needs from the whole workload.
func NewOracle(d sim.Deployment, wl sim.Workload, o OracleOptions) *Oracle {
	o = o.withDefaults()
	or := &Oracle{d: d, interval: o.Interval, bin: o.Bin.Seconds(), epoch: o.Epoch}
	bins := binRequests(d, wl, or.bin)
	var pre, dec []float64
	for _, svc := range d.Services {
		if svc.Role != policies.RoleDecode && pre == nil {
			pre = prefillNeeds(d, bins, svc.MaxReplicas, o)
		}
		if svc.Role != policies.RolePrefill && dec == nil {
			dec = decodeNeeds(d, bins, o)
		}
	}
	for _, svc := range d.Services {
		n := make([]float64, len(bins))
		for i := range n {
			switch svc.Role {
			case policies.RolePrefill:
				n[i] = pre[i]
			case policies.RoleDecode:
				n[i] = dec[i] / float64(svc.GPUsPerReplica)
			default:
				n[i] = pre[i] + dec[i]/float64(svc.GPUsPerReplica)
			}
		}
		or.need = append(or.need, n)
	}
	return or
}

// binRequests groups the servable requests by bin, in arrival order.
func binRequests(d sim.Deployment, wl sim.Workload, bin float64) [][]sim.Request {
	n := int(math.Ceil(wl.Duration.Seconds()/bin)) + 1
	if k := len(wl.Requests); k > 0 {
		n = max(n, int(wl.Requests[k-1].Arrival.Seconds()/bin)+1)
	}
	bins := make([][]sim.Request, n)
	for _, r := range wl.Requests {
		if r.InputTokens+r.OutputTokens <= d.MaxContext {
			i := int(r.Arrival.Seconds() / bin)
			bins[i] = append(bins[i], r)
		}
	}
	return bins
}

// prefillNeeds is, per bin, the fewest prefill engines (up to maxN) whose fluid queue meets the
// delay bound, carrying the backlog from bin to bin.
func prefillNeeds(d sim.Deployment, bins [][]sim.Request, maxN int, o OracleOptions) []float64 {
	limit := o.PrefillDelay * d.TTFT.Seconds()
	out := make([]float64, len(bins))
	backlog, last := 0.0, 0.0 // tokens, time of the last update
	for b, reqs := range bins {
		if len(reqs) == 0 {
			continue
		}
		var tok float64
		for _, r := range reqs {
			tok += float64(r.InputTokens)
		}
		perEngine := d.PrefillCapacity(tok / float64(len(reqs)))
		n, allowed := 1, int(o.MissBudget*float64(len(reqs)))
		for n < maxN && fluidLate(reqs, backlog, last, float64(n)*perEngine, perEngine, limit) > allowed {
			n++
		}
		out[b] = float64(n)
		backlog, last = fluidBacklog(reqs, backlog, last, float64(n)*perEngine)
	}
	return out
}

// fluidLate counts the requests a fluid queue at rate tokens/s finishes later than limit seconds
// after their arrival, leaving out requests one engine (perEngine tokens/s) could not finish in
// time even alone.
func fluidLate(reqs []sim.Request, backlog, last, rate, perEngine, limit float64) int {
	late := 0
	for _, r := range reqs {
		t := r.Arrival.Seconds()
		backlog = max(backlog-rate*(t-last), 0) + float64(r.InputTokens)
		last = t
		if backlog/rate > limit && float64(r.InputTokens)/perEngine <= limit {
			late++
		}
	}
	return late
}

// fluidBacklog returns the queue's backlog after the bin's arrivals and the time it refers to.
func fluidBacklog(reqs []sim.Request, backlog, last, rate float64) (float64, float64) {
	for _, r := range reqs {
		t := r.Arrival.Seconds()
		backlog = max(backlog-rate*(t-last), 0) + float64(r.InputTokens)
		last = t
	}
	return backlog, last
}

// decodeNeeds is, per bin, the decode GPUs its output tokens need within the ITL target.
func decodeNeeds(d sim.Deployment, bins [][]sim.Request, o OracleOptions) []float64 {
	bin := o.Bin.Seconds()
	out := make([]float64, len(bins))
	for b, reqs := range bins {
		if len(reqs) == 0 {
			continue
		}
		var in, gen float64
		for _, r := range reqs {
			in += float64(r.InputTokens)
			gen += float64(r.OutputTokens)
		}
		c := float64(len(reqs))
		thpt, _ := d.Model.BestDecodeThroughput(o.DecodeITL*d.ITL.Seconds(), in/c+gen/c/2)
		out[b] = gen / bin / (thpt * o.DecodeUtil)
	}
	return out
}

// Cadence implements sim.Autoscaler.
func (o *Oracle) Cadence() sim.Cadence { return sim.Cadence{Interval: o.interval, Window: o.interval} }

// Scale implements sim.Autoscaler; it ignores the observations and reads the future.
func (o *Oracle) Scale(now time.Time, _ planner.Observations) map[string]int32 {
	return o.At(now.Sub(o.epoch).Seconds())
}

// At returns the desired replicas for a decision at t seconds from the workload's start.
func (o *Oracle) At(t float64) map[string]int32 {
	out := map[string]int32{}
	for i, svc := range o.d.Services {
		end := t + svc.StartupTime.Seconds() + o.interval.Seconds()
		lo, hi := int(t/o.bin), min(int(math.Ceil(end/o.bin)), len(o.need[i]))
		best := 0.0
		for b := max(lo, 0); b < hi; b++ {
			best = max(best, o.need[i][b])
		}
		out[svc.Name] = clampReplicas(math.Ceil(best-1e-9), svc)
	}
	return out
}

// Peak returns the most replicas each service needs at any time of the workload.
func (o *Oracle) Peak() map[string]int32 {
	out := map[string]int32{}
	for i, svc := range o.d.Services {
		best := 0.0
		for _, n := range o.need[i] {
			best = max(best, n)
		}
		out[svc.Name] = clampReplicas(math.Ceil(best-1e-9), svc)
	}
	return out
}
