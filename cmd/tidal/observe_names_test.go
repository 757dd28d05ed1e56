package main

import (
	"context"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// fixedObserver returns the same observations for every policy.
type fixedObserver struct{ obs planner.Observations }

func (f fixedObserver) Observe(context.Context, policies.Policy, time.Time) (planner.Observations, error) {
	return f.obs, nil
}

func TestNamingObserverNamesTheQuery(t *testing.T) {
	ps, err := policies.Load(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	p := ps[0] // aggregated.yaml: model qwen/qwen3-0.6b, DGD llm/qwen-agg, no overrides
	empty := planner.Unknown("empty result: no series (absent, or marked stale by Prometheus)")
	in := planner.Observations{RequestRate: empty, InputTokens: planner.Unknown("prometheus unreachable: dial tcp"),
		OutputTokens: planner.Known(100), Services: []planner.ServiceObservation{{Name: "W", KVUsage: empty}}}
	got, err := namingObserver{fixedObserver{in}}.Observe(t.Context(), p, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	const sel = ` [default query, selector {model="qwen/qwen3-0.6b",dynamo_namespace="llm-qwen-agg"}]`
	tests := []struct {
		name string
		got  planner.Value
		want planner.Value
	}{
		{"an empty result names the selector", got.RequestRate, planner.Unknown(empty.Missing + sel)},
		{"an unreachable Prometheus is left as it is", got.InputTokens, in.InputTokens},
		{"a known value is untouched", got.OutputTokens, planner.Known(100)},
		{"per-service values too", got.Services[0].KVUsage, planner.Unknown(empty.Missing + sel)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %+v, want %+v", tc.got, tc.want)
			}
		})
	}
}
