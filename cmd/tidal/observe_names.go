package main

import (
	"context"
	"strings"
	"time"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// namingObserver wraps the Prometheus observer so that a signal missing because its query
// returned nothing says which query: the label selector of the default queries, or the policy's
// override. The rest of the reason is the metrics adapter's. tidal doctor prints the full PromQL.
type namingObserver struct{ planner.Observer }

// Observe implements planner.Observer.
func (o namingObserver) Observe(ctx context.Context, p policies.Policy, now time.Time) (planner.Observations, error) {
	obs, err := o.Observer.Observe(ctx, p, now)
	if err != nil {
		return obs, err
	}
	name := func(s policies.Signal, v *planner.Value) {
		if v.OK || !strings.HasPrefix(v.Missing, metrics.ReasonEmpty) {
			return
		}
		if q, overridden := p.Query(s); overridden {
			v.Missing += " [query override: " + q + "]"
		} else {
			v.Missing += " [default query, selector {" + metrics.SelectorOf(p) + "}]"
		}
	}
	for s, v := range map[policies.Signal]*planner.Value{
		policies.SignalRequestRate: &obs.RequestRate, policies.SignalInputTokens: &obs.InputTokens,
		policies.SignalOutputTokens: &obs.OutputTokens, policies.SignalTTFT: &obs.TTFT,
		policies.SignalTTFTPercentile: &obs.TTFTPercentile, policies.SignalITL: &obs.ITL,
		policies.SignalITLPercentile: &obs.ITLPercentile, policies.SignalQueueDepth: &obs.QueueDepth,
		policies.SignalInflight: &obs.Inflight, policies.SignalKVUsage: &obs.KVUsage,
		policies.SignalArrivalCV: &obs.ArrivalCV, metrics.SignalInputTokensPercentile: &obs.InputTokensPercentile,
		metrics.SignalOutputTokensPercentile: &obs.OutputTokensPercentile,
		metrics.SignalTTFTAttained:           &obs.TTFTAttained, metrics.SignalITLAttained: &obs.ITLAttained,
	} {
		name(s, v)
	}
	for i := range obs.Services {
		name(policies.SignalKVUsage, &obs.Services[i].KVUsage)
		name(metrics.SignalActiveTokens, &obs.Services[i].ActiveTokens)
	}
	return obs, nil
}
