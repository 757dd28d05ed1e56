package metrics

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/planner"
)

func TestFailureKinds(t *testing.T) {
	u := planner.Unknown
	tests := []struct {
		name string
		obs  planner.Observations
		want []string
	}{
		{"healthy", planner.Observations{RequestRate: planner.Known(1)}, nil},
		{"missing data is no failure", planner.Observations{RequestRate: u(ReasonCoverage + ": x"), TTFT: u(ReasonNaN),
			QueueDepth: u(ReasonEmpty), KVUsage: u(ReasonStale), ITL: u(ReasonReset), Inflight: u(ReasonCanceled)}, nil},
		{"outage", planner.Observations{RequestRate: u(ReasonUnreachable + ": dial tcp: connection refused"),
			TTFT: u(ReasonUnreachable + ": other")}, []string{KindUnreachable}},
		{"hang", planner.Observations{RequestRate: u(ReasonTimeout + ": no answer")}, []string{KindTimeout}},
		{"5xx and a bad body, sorted", planner.Observations{
			RequestRate: u(ReasonPrometheusError + " (server_error): server error: 503"),
			Services:    []planner.ServiceObservation{{KVUsage: u(ReasonPrometheusError + " (bad_response): invalid character")}},
		}, []string{"prometheus-bad_response", "prometheus-server_error"}},
		{"odd error type is not echoed", planner.Observations{RequestRate: u(ReasonPrometheusError + " (Weird Type!): x")},
			[]string{"prometheus-error"}},
		{"warnings", planner.Observations{RequestRate: u(ReasonWarnings + ": remote read")}, []string{KindWarnings}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, FailureKinds(tt.obs)); diff != "" {
				t.Errorf("FailureKinds (-want +got):\n%s", diff)
			}
		})
	}
}
