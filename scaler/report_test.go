package scaler_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/tidal-planner/tidal/scaler"
)

// TestReportReadFailure: the read failures an operator must fix raise a Warning Event on the DGD;
// passing ones (5xx, timeouts) raise none.
func TestReportReadFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []recorded
	}{
		{name: "DGD missing", err: &scaler.Error{Kind: scaler.ErrDeploymentMissing, Op: "reading the DGD"},
			want: []recorded{{Kind: deploymentKind, Name: "qwen", Type: "Warning", Reason: scaler.ReasonDeploymentMissing}}},
		{name: "adapter missing among other errors", err: errors.Join(&scaler.Error{Kind: scaler.ErrAdapterMissing, Op: "reading"}),
			want: []recorded{{Kind: deploymentKind, Name: "qwen", Type: "Warning", Reason: scaler.ReasonAdapterMissing}}},
		{name: "forbidden read", err: &scaler.Error{Kind: scaler.ErrForbidden, Op: "reading the DGD"},
			want: []recorded{{Kind: deploymentKind, Name: "qwen", Type: "Warning", Reason: scaler.ReasonScaleForbidden}}},
		{name: "5xx", err: &scaler.Error{Kind: scaler.ErrAPI, Op: "reading the DGD"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &fakeRecorder{}
			a, err := scaler.NewActuator(scaler.ActuatorConfig{Client: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()), Recorder: rec})
			if err != nil {
				t.Fatal(err)
			}
			if got := a.ReportReadFailure("llm", "qwen", tc.err); got != (len(tc.want) > 0) {
				t.Errorf("ReportReadFailure = %v, want %v", got, len(tc.want) > 0)
			}
			if diff := cmp.Diff(tc.want, rec.got(), cmpEmpty); diff != "" {
				t.Errorf("Events (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpEmpty treats nil and empty slices alike.
var cmpEmpty = cmp.FilterValues(func(a, b []recorded) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

func TestReportOtherWriter(t *testing.T) {
	rec := &fakeRecorder{}
	a, err := scaler.NewActuator(scaler.ActuatorConfig{Client: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme()), Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	a.ReportOtherWriter("llm", "qwen", "Frontend", 5, 8, 5*time.Minute)
	want := []recorded{{Kind: adapterKind, Name: "qwen-frontend", Type: "Warning", Reason: scaler.ReasonConflictingWriter}}
	if diff := cmp.Diff(want, rec.got()); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}
	if n := rec.notes(); !strings.Contains(n, "from 5 (tidal's last write) to 8") || !strings.Contains(n, "5m0s") {
		t.Errorf("note %q lacks the counts or the back-off", n)
	}
}
