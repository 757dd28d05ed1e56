package policies

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Parse (the part of Load that sees file contents). Parse must
// never panic or hang; a failure must consist of *FieldErrors naming the input; a success must
// satisfy the policy's invariants; and the result must be deterministic. Seeds: the shipped
// examples, minimal, and the corpus in testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("examples", "*.yaml"))
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "f.yaml")
		_, err2 := Parse(data, "f.yaml")
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("Parse is not deterministic: %v vs %v", err, err2)
		}
		if err != nil {
			probs := Problems(err)
			if len(probs) == 0 {
				t.Fatalf("error without FieldErrors: %v", err)
			}
			for _, pr := range probs {
				if pr.File != "f.yaml" || pr.Msg == "" {
					t.Fatalf("problem without file or message: %#v", pr)
				}
				if strings.HasPrefix(pr.Msg, "cannot decode: ") && !strings.Contains(pr.Msg, "aliasing") {
					t.Fatalf("the schema walk accepted what yaml.v3 rejects: %v", pr)
				}
			}
			return
		}
		checkInvariants(t, p)
	})
}

// checkInvariants asserts what every valid Policy guarantees.
func checkInvariants(t *testing.T, p Policy) {
	t.Helper()
	if p.Name == "" || p.NumServices() == 0 || p.Planning.Interval <= 0 || p.Metrics.Window <= 0 {
		t.Fatalf("valid policy misses required values: %+v", p)
	}
	var minGPUs int64
	for _, s := range p.Services() {
		if s.MinReplicas < 0 || s.MaxReplicas < 1 || s.MinReplicas > s.MaxReplicas {
			t.Fatalf("service %s bounds %d..%d", s.Name, s.MinReplicas, s.MaxReplicas)
		}
		if s.MinReplicas == 0 && s.Actuation != ActuationKEDA {
			t.Fatalf("service %s min 0 with actuation %s", s.Name, s.Actuation)
		}
		minGPUs += int64(s.MinReplicas) * int64(s.GPUsPerReplica)
	}
	if p.Budget.MaxGPUs > 0 && minGPUs > int64(p.Budget.MaxGPUs) {
		t.Fatalf("minimums need %d GPUs above budget %d", minGPUs, p.Budget.MaxGPUs)
	}
	for _, s := range p.Schedules() {
		if s.Location == nil || s.Duration <= 0 {
			t.Fatalf("schedule %s has no zone or duration", s.Name)
		}
	}
}
