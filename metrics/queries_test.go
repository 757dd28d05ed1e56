package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

func TestExpand(t *testing.T) {
	base := params{window: 90 * time.Second, cvStep: time.Minute, cvRange: 30 * time.Minute,
		model: "meta/llama", namespace: "llm-llama", quantile: 0.9}
	tests := []struct {
		name    string
		tmpl    string
		signal  policies.Signal
		p       params
		want    string
		wantErr string
	}{
		{"no placeholders", "up", policies.SignalRequestRate, base, "up", ""},
		{"window", "rate(x[${window}])", policies.SignalRequestRate, base, "rate(x[1m30s])", ""},
		{"sub-second window", "rate(x[${window}])", policies.SignalRequestRate, params{window: 1500 * time.Millisecond}, "rate(x[1s500ms])", ""},
		{"selector", "x{${selector}}", policies.SignalRequestRate, base, `x{model="meta/llama",dynamo_namespace="llm-llama"}`, ""},
		{"selector without model", "x{${selector}}", policies.SignalRequestRate, params{namespace: "ns"}, `x{dynamo_namespace="ns"}`, ""},
		{"namespace selector", "x{${nsselector}}", policies.SignalKVUsage, base, `x{dynamo_namespace="llm-llama"}`, ""},
		{"escaped model", `x{model="${model}"}`, policies.SignalRequestRate, params{model: `a"b\c`}, `x{model="a\"b\\c"}`, ""},
		{"arrival windows", "[${cvrange}:${cvstep}]", policies.SignalArrivalCV, base, "[30m:1m]", ""},
		{"quantile in a percentile signal", "histogram_quantile(${quantile}, b)", policies.SignalTTFTPercentile, base, "histogram_quantile(0.9, b)", ""},
		{"quantile elsewhere", "histogram_quantile(${quantile}, b)", policies.SignalTTFT, base, "", "${quantile} is defined only"},
		{"target in an attainment signal", `b{le="${target}"}`, policies.SignalITLAttained, params{target: 0.02}, `b{le="0.02"}`, ""},
		{"target elsewhere", `b{le="${target}"}`, policies.SignalITLPercentile, params{target: 0.02}, "", "${target} is defined only"},
		{"unknown placeholder", "x{${nope}}", policies.SignalTTFT, base, "", "unknown placeholder ${nope}"},
		{"unterminated placeholder", "x{${model", policies.SignalTTFT, base, "", "unterminated placeholder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expand(tt.tmpl, tt.signal, tt.p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("expand error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("expand = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestDefaultQueriesExpand checks every default query expands with no placeholder left.
func TestDefaultQueriesExpand(t *testing.T) {
	p := params{window: time.Minute, cvStep: time.Minute, cvRange: 30 * time.Minute, model: "m", namespace: "n", quantile: 0.9}
	for _, s := range observed() {
		t.Run(string(s), func(t *testing.T) {
			tmpl, ok := DefaultQuery(s)
			if !ok {
				t.Fatalf("no default query for %s", s)
			}
			q, err := expand(tmpl, s, p)
			if err != nil || strings.Contains(q, "${") {
				t.Errorf("expand(%s) = %q, %v", s, q, err)
			}
		})
	}
}
