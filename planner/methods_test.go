package planner

import (
	"testing"

	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/policies"
)

// TestPolicyForecastMethodsExist keeps the two lists in step: every forecast method a policy may
// name must be one the forecast package can build, or a valid policy would plan without a forecast.
func TestPolicyForecastMethodsExist(t *testing.T) {
	for _, m := range policies.ForecastMethods() {
		t.Run(m, func(t *testing.T) {
			f, err := forecast.New(m, forecast.Options{Period: 24})
			if err != nil {
				t.Fatalf("forecast.New(%q): %v", m, err)
			}
			if f == nil {
				t.Fatalf("forecast.New(%q) returned nil", m)
			}
		})
	}
}
