package compete

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/policies"
)

// DynamoInterval is the adjustment interval of Dynamo's SLA planner (its default, 180 s).
const DynamoInterval = 180 * time.Second

// Dynamo is NVIDIA Dynamo's SLA planner as publicly described (ai-dynamo/dynamo, docs of the SLA
// planner; the formulas as tidal's issue 5 states them). Every 180 s it reads the last interval's
// request rate and mean input and output lengths, predicts the next interval to repeat them (the
// "constant" predictor), and sizes:
//
//	prefill = ceil(rate x ISL / prefill_thpt_per_gpu(ISL) / GPUs per engine)
//	decode  = ceil(rate x OSL / best_decode_thpt_per_gpu(ITL target, ISL + OSL/2) / GPUs per engine)
//
// where best_decode_thpt_per_gpu is the highest profiled decode throughput whose ITL meets the
// target at that context length; both at least 1 and at most the service maximum. An aggregated
// service takes the larger of the two. With no traffic observed it holds. It ignores queueing and
// burstiness by design: this is the behaviour tidal is compared with.
type Dynamo struct {
	Deployment sim.Deployment
}

// Cadence implements sim.Autoscaler.
func (d Dynamo) Cadence() sim.Cadence {
	return sim.Cadence{Interval: DynamoInterval, Window: DynamoInterval}
}

// Scale implements sim.Autoscaler.
func (d Dynamo) Scale(_ time.Time, obs planner.Observations) map[string]int32 {
	if !obs.RequestRate.OK || !obs.InputTokens.OK || !obs.OutputTokens.OK {
		return nil
	}
	rate, isl, osl := obs.RequestRate.V, obs.InputTokens.V, obs.OutputTokens.V
	m := d.Deployment.Model
	out := map[string]int32{}
	for _, svc := range d.Deployment.Services {
		g := float64(svc.GPUsPerReplica)
		pre := rate * isl / m.PrefillThroughput(isl) / g
		thpt := DynamoDecodeThroughput(m, d.Deployment.ITL.Seconds(), isl+osl/2)
		dec := rate * osl / thpt / g
		var need float64
		switch svc.Role {
		case policies.RolePrefill:
			need = pre
		case policies.RoleDecode:
			need = dec
		default:
			need = max(pre, dec)
		}
		out[svc.Name] = clampReplicas(math.Ceil(need), svc)
	}
	return out
}

// clampReplicas bounds a replica count to a service's [min, max] (and to at least 1).
func clampReplicas(n float64, svc sim.Service) int32 {
	if math.IsNaN(n) {
		n = 0
	}
	return int32(min(max(n, float64(svc.MinReplicas), 1), float64(svc.MaxReplicas)))
}

// DynamoDecodeThroughput is the decode throughput per GPU Dynamo's SLA planner sizes with: the
// highest value of the profile's throughput column (z_thpt_per_gpu, interpolated) over the KV
// usages whose profiled ITL meets the target at context length ctx.
func DynamoDecodeThroughput(m *sim.Model, itl, ctx float64) float64 {
	const steps = 100
	d := m.Profile().Decode
	lo := d.MinKVUsage(ctx)
	hi, ok := d.KVUsageAt(itl, ctx)
	if !ok {
		hi = lo
	}
	best := 0.0
	for i := 0; i <= steps; i++ {
		best = max(best, m.ProfileDecodeThroughput(lo+(hi-lo)*float64(i)/steps, ctx))
	}
	return best
}
