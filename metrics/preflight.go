package metrics

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// This file serves `tidal doctor`: the query texts tidal runs, a reachability check, and the label
// values Prometheus actually holds, so a query that returns nothing can be explained.

// QueryText returns the PromQL the adapter runs for a signal of a policy, placeholders expanded:
// the policy's override, else the default. applicable is false (and q "") for a signal the
// policy does not query (a percentile its SLO does not set).
func QueryText(p policies.Policy, s policies.Signal) (q string, applicable bool, err error) {
	t := targetOf(p)
	if _, skip := notApplicable(t, s); skip {
		return "", false, nil
	}
	a := New(Options{})
	if _, known := a.queries[s]; !known {
		if _, overridden := p.Query(s); !overridden {
			return "", false, nil
		}
	}
	q, err = a.query(t, s)
	return q, err == nil, err
}

// SelectorOf returns what ${selector} expands to for a policy: the model and dynamo_namespace
// label matchers the default queries filter the Dynamo frontend's series by.
func SelectorOf(p policies.Policy) string {
	return selector(p.Metrics.Model, p.Metrics.DynamoNamespace)
}

// SignalValue returns the observed value of a signal, for a service where the signal is per
// worker (kvUsage, activeTokens; service "" reads the deployment-level value). ok is false for a
// signal Observations does not carry.
func SignalValue(o planner.Observations, s policies.Signal, service string) (v planner.Value, ok bool) {
	if s == policies.SignalKVUsage || s == SignalActiveTokens {
		if so, found := o.Service(service); found {
			if s == SignalActiveTokens {
				return so.ActiveTokens, true
			}
			return so.KVUsage, true
		}
		if s == policies.SignalKVUsage && service == "" {
			return o.KVUsage, true
		}
		return planner.Value{}, false
	}
	byName := map[policies.Signal]planner.Value{
		policies.SignalRequestRate: o.RequestRate, policies.SignalInputTokens: o.InputTokens,
		policies.SignalOutputTokens: o.OutputTokens, policies.SignalTTFT: o.TTFT,
		policies.SignalTTFTPercentile: o.TTFTPercentile, policies.SignalITL: o.ITL,
		policies.SignalITLPercentile: o.ITLPercentile, policies.SignalQueueDepth: o.QueueDepth,
		policies.SignalInflight: o.Inflight, policies.SignalArrivalCV: o.ArrivalCV,
		SignalInputTokensPercentile: o.InputTokensPercentile, SignalOutputTokensPercentile: o.OutputTokensPercentile,
		SignalTTFTAttained: o.TTFTAttained, SignalITLAttained: o.ITLAttained,
	}
	v, ok = byName[s]
	return v, ok
}

// Reachable checks that the Prometheus at url answers a trivial instant query within timeout,
// and returns the reason it does not, in the words of a missing value (see the Reason* prefixes).
func (a *Adapter) Reachable(ctx context.Context, url string, timeout time.Duration) error {
	c, err := a.api(url)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, _, _, err := c.Query(ctx, "vector(1)", time.Time{}, evalOptions(timeout)...); err != nil {
		return fmt.Errorf("%s", errReason(err, timeout))
	}
	return nil
}

// FrontendLabels are the label values of one group of Dynamo frontend series.
type FrontendLabels struct {
	Model, DynamoNamespace string
}

// FrontendSeries lists the distinct model and dynamo_namespace label values of the Dynamo
// frontend's request counter (dynamo_frontend_requests_total) that Prometheus holds now, sorted:
// what spec.metrics.model and spec.metrics.dynamoNamespace may be set to. An empty list means
// Prometheus scrapes no Dynamo frontend at all.
func (a *Adapter) FrontendSeries(ctx context.Context, url string, timeout time.Duration) ([]FrontendLabels, error) {
	c, err := a.api(url)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	val, _, _, err := c.Query(ctx, "count by (model, dynamo_namespace) ("+mRequests+")", time.Time{}, evalOptions(timeout)...)
	if err != nil {
		return nil, fmt.Errorf("%s", errReason(err, timeout))
	}
	vec, ok := val.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("%s: %s (want an instant vector)", ReasonUnexpected, val.Type())
	}
	out := make([]FrontendLabels, 0, len(vec))
	for _, s := range vec {
		out = append(out, FrontendLabels{Model: string(s.Metric["model"]), DynamoNamespace: string(s.Metric["dynamo_namespace"])})
	}
	slices.SortFunc(out, func(x, y FrontendLabels) int {
		return cmp.Or(strings.Compare(x.Model, y.Model), strings.Compare(x.DynamoNamespace, y.DynamoNamespace))
	})
	return out, nil
}
