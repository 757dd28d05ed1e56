package metrics_test

import (
	"testing"
	"time"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

func TestQueryText(t *testing.T) {
	p := testPolicy(t, "http://prom:9090", "llama", "llm-llama", time.Minute,
		"    queries:\n      queueDepth: 'sum(my_queue{ns=\"${namespace}\"})'\n")
	tests := []struct {
		name     string
		signal   policies.Signal
		want     string
		wantSkip bool
	}{
		{"default, expanded", policies.SignalRequestRate,
			`sum(rate(dynamo_frontend_requests_total{model="llama",dynamo_namespace="llm-llama"}[1m]))`, false},
		{"percentile at the SLO's quantile", policies.SignalITLPercentile,
			`histogram_quantile(0.95, sum by (le) (rate(dynamo_frontend_inter_token_latency_seconds_bucket{model="llama",dynamo_namespace="llm-llama"}[1m])))`, false},
		{"override, expanded", policies.SignalQueueDepth, `sum(my_queue{ns="llm-llama"})`, false},
		{"unknown signal", policies.Signal("nope"), "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, ok, err := metrics.QueryText(p, tc.signal)
			if err != nil {
				t.Fatal(err)
			}
			if ok == tc.wantSkip || q != tc.want {
				t.Errorf("QueryText = %q, %v; want %q, %v", q, ok, tc.want, !tc.wantSkip)
			}
		})
	}
	if got, want := metrics.SelectorOf(p), `model="llama",dynamo_namespace="llm-llama"`; got != want {
		t.Errorf("SelectorOf = %q, want %q", got, want)
	}
}

func TestSignalValue(t *testing.T) {
	o := planner.Observations{
		RequestRate: planner.Known(3), OutputTokensPercentile: planner.Known(7), KVUsage: planner.Known(0.4),
		Services: []planner.ServiceObservation{{Name: "Decode", KVUsage: planner.Known(0.5), ActiveTokens: planner.Unknown("empty result")}},
	}
	tests := []struct {
		name    string
		signal  policies.Signal
		service string
		want    planner.Value
		wantOK  bool
	}{
		{"deployment signal", policies.SignalRequestRate, "", planner.Known(3), true},
		{"token percentile", metrics.SignalOutputTokensPercentile, "", planner.Known(7), true},
		{"per-worker signal of a service", policies.SignalKVUsage, "Decode", planner.Known(0.5), true},
		{"missing per-worker value", metrics.SignalActiveTokens, "Decode", planner.Unknown("empty result"), true},
		{"kv usage of the deployment", policies.SignalKVUsage, "", planner.Known(0.4), true},
		{"unknown service", metrics.SignalActiveTokens, "Prefill", planner.Value{}, false},
		{"every signal is mapped", policies.SignalArrivalCV, "", planner.Value{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := metrics.SignalValue(o, tc.signal, tc.service)
			if ok != tc.wantOK || v != tc.want {
				t.Errorf("SignalValue = %+v, %v; want %+v, %v", v, ok, tc.want, tc.wantOK)
			}
		})
	}
	for _, s := range policies.Signals() {
		service := ""
		if s == metrics.SignalActiveTokens {
			service = "Decode"
		}
		if _, ok := metrics.SignalValue(o, s, service); !ok {
			t.Errorf("SignalValue does not map %s", s)
		}
	}
}
