package keda_test

import (
	"strings"
	"testing"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tidal-planner/tidal/policies"
)

// TestHugeNamesAreClipped: a caller's 3 MiB policy name, service or metric name comes back
// clipped in the gRPC status, not echoed whole (issue 13 defect 8).
func TestHugeNamesAreClipped(t *testing.T) {
	huge := strings.Repeat("p", 3<<20)
	c := dial(t, world())
	ref := func(policy, service string) *externalscaler.ScaledObjectRef {
		return &externalscaler.ScaledObjectRef{Name: "so", Namespace: "llm",
			ScalerMetadata: map[string]string{"policy": policy, "service": service}}
	}
	tests := []struct {
		name string
		call func() error
		code codes.Code
	}{
		{name: "unknown policy", code: codes.NotFound, call: func() error {
			_, err := c.GetMetrics(t.Context(), &externalscaler.GetMetricsRequest{ScaledObjectRef: ref(huge, "decode")})
			return err
		}},
		{name: "unknown service", code: codes.NotFound, call: func() error {
			_, err := c.IsActive(t.Context(), ref("llama", huge))
			return err
		}},
		{name: "missing service", code: codes.InvalidArgument, call: func() error {
			_, err := c.GetMetricSpec(t.Context(), ref(huge, ""))
			return err
		}},
		{name: "wrong metric name", code: codes.NotFound, call: func() error {
			_, err := c.GetMetrics(t.Context(), &externalscaler.GetMetricsRequest{ScaledObjectRef: ref("llama", "decode"), MetricName: huge})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := status.Convert(tc.call())
			if st.Code() != tc.code {
				t.Errorf("code %s, want %s (%.200s)", st.Code(), tc.code, st.Message())
			}
			if n := len(st.Message()); n > policies.MaxMessage+64 {
				t.Errorf("status message is %d bytes, want at most %d", n, policies.MaxMessage+64)
			}
			if !strings.Contains(st.Message(), "more bytes)") {
				t.Errorf("status message does not say it was clipped: %.300s", st.Message())
			}
		})
	}
}
