package closedloop

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/sim/scenario"
	"github.com/tidal-planner/tidal/policies"
)

func defaultPolicy(t *testing.T) policies.Policy {
	t.Helper()
	p, err := scenario.Policy()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tick is one hand-made decision: minute, prefill current -> desired, decode desired, and the
// prefill reasons' codes (a code "x=v" carries value v).
type tick struct {
	minute           int
	cur, pre, decode int32
	codes            []planner.Code
	value            float64
	queue            float64
}

// handRun builds a run from ticks, with the summary given.
func handRun(ticks []tick, res sim.Result) Run {
	r := Run{Result: res}
	for _, k := range ticks {
		var reasons []planner.Reason
		for _, c := range k.codes {
			reasons = append(reasons, planner.Reason{Code: c, Value: k.value})
		}
		r.Decisions = append(r.Decisions, planner.Decision{
			Time: Epoch.Add(time.Duration(k.minute) * time.Minute), GPUs: k.pre + k.decode,
			Services: []planner.ServiceDecision{
				{Name: "VllmPrefillWorker", Role: policies.RolePrefill, Current: k.cur, Desired: k.pre, Reasons: reasons},
				{Name: "VllmDecodeWorker", Role: policies.RoleDecode, Current: k.decode, Desired: k.decode},
			}})
		r.Observed = append(r.Observed, planner.Observations{QueueDepth: planner.Known(k.queue)})
	}
	return r
}

// TestStatementsCanFail checks every verb both ways on a hand-made run: prefill 2 until 30m, 5
// from 31m (a queue-breach at 31m), 4 from 41m; decode 1; attainment 97%.
func TestStatementsCanFail(t *testing.T) {
	var ticks []tick
	for m := 1; m <= 60; m++ {
		k := tick{minute: m, cur: 2, pre: 2, decode: 1, codes: []planner.Code{planner.CodeReserve, planner.CodeSized}, value: 1.2}
		switch {
		case m == 31:
			k.pre, k.queue = 5, 300
			k.codes = append(k.codes, planner.CodeQueueBreach)
		case m > 31 && m <= 40:
			k.cur, k.pre = 5, 5
		case m == 41:
			k.cur, k.pre = 5, 4
		case m > 41:
			k.cur, k.pre = 4, 4
		}
		ticks = append(ticks, k)
	}
	run := handRun(ticks, sim.Result{Attainment: 0.97, GPUHours: 4.2, ScaleEvents: 2})
	tests := []struct {
		stmt string
		ok   bool
		want string // in the failure
	}{
		{"attainment >= 96%", true, ""},
		{"attainment >= 99%", false, "attainment was 97.000%"},
		{"gpu-hours <= 5", true, ""},
		{"gpu-hours < 4", false, "gpu-hours was 4.200"},
		{"scale-events == 2", true, ""},
		{"scale-events <= 1", false, "scale-events was 2"},
		{"prefill never above 5", true, ""},
		{"prefill never above 4", false, "5 at t+31m"},
		{"VllmPrefillWorker never above 2 from 0m to 30m", true, ""},
		{"prefill never below 4 from 31m to 60m", true, ""},
		{"prefill never below 3", false, "2 at t+1m"},
		{"gpus never above 6", true, ""},
		{"gpus never above 5", false, "6 at t+31m"},
		{"decode never above 1 from 90m to 100m", false, "no decision"},
		{"queue reaches >= 300 within 1m after 30m", true, ""},
		{"queue never above 0 from 32m to 60m", true, ""},
		{"queue never above 10", false, "300 at t+31m"},
		{"prefill reaches >= 5 within 1m after 30m", true, ""},
		{"prefill reaches >= 6 within 2m after 31m", false, "prefill took 5 5 in (31m0s, 33m0s]"},
		{"prefill reaches <= 4 within 10m after 31m", true, ""},
		{"prefill reaches <= 4 within 9m after 31m", false, "took 5 5 5 5 5 5 5 5 5"},
		{"reason queue-breach appears exactly 1 times", true, ""},
		{"reason queue-breach never appears", false, "appeared 1 times: VllmPrefillWorker t+31m"},
		{"reason queue-breach never appears from 32m to 60m", true, ""},
		{"reason queue-breach on decode never appears", true, ""},
		{"reason queue-breach on prefill appears at least 2 times", false, "appeared 1 times"},
		{"reason sized appears at most 59 times", false, "appeared 60 times"},
		{"reason reserve on prefill with value <= 1.3 appears at least 60 times", true, ""},
		{"reason reserve with value >= 2 appears at least 1 times", false, "appeared 0 times"},
		{"no scale-down within 10m of a scale-up", true, ""},
		{"no scale-down within 11m of a scale-up on prefill", false, "up at t+31m, down at t+41m"},
		{"pending prefill never above 4", true, ""},
		{"pending prefill never above 5", false, "holds now: remove its pending mark"},
	}
	p := defaultPolicy(t)
	for _, tt := range tests {
		t.Run(tt.stmt, func(t *testing.T) {
			x, err := ParseExpectations([]byte("# a comment\n"+tt.stmt+"\n"), "x.txt", p)
			if err != nil {
				t.Fatal(err)
			}
			err = x.CheckAll(run)
			switch {
			case tt.ok && err != nil:
				t.Errorf("want it to hold, got %v", err)
			case !tt.ok && err == nil:
				t.Errorf("want it to fail, it held")
			case !tt.ok && (!strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "x.txt:2:")):
				t.Errorf("error %q: want x.txt:2: and %q in it", err, tt.want)
			}
		})
	}
}

func TestParseExpectationsErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"misspelt verb", "prefill never abov 3", `e.txt:2: "prefill never abov 3": expected above or below after never, got "abov"`},
		{"misspelt code", "reason queue-breech never appears", `e.txt:2: "reason queue-breech never appears": unknown reason code "queue-breech"`},
		{"unknown service", "frontend never above 3", `names no single service of the policy (services: VllmPrefillWorker, VllmDecodeWorker`},
		{"gpus in a reason", "reason sized on gpus never appears", "gpus is not a service here"},
		{"queue in a flap", "no scale-down within 5m of a scale-up on queue", "queue is not a service here"},
		{"bad number", "attainment >= lots", `expected a number, got "lots"`},
		{"percent on gpu-hours", "gpu-hours <= 5%", "only attainment takes a percentage"},
		{"missing after", "prefill reaches >= 4 within 2m", `expected "after", got ""`},
		{"bad operator", "prefill reaches > 4 within 2m after 30m", `expected one of >= <=, got ">"`},
		{"window backwards", "prefill never above 3 from 10m to 5m", "window ends (5m0s) before it starts (10m0s)"},
		{"trailing words", "prefill never above 3 please", `unexpected "please"`},
		{"bad count", "reason sized appears about 3 times", "expected at most, at least or exactly"},
		{"bad duration", "no scale-down within five of a scale-up", `duration "five"`},
		{"bare pending", "pending", "e.txt:2: pending needs a statement"},
		{"nothing stated", "# only a comment", "e.txt: no expectations"},
	}
	p := defaultPolicy(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "# scenario\n" + tt.text + "\n"
			if tt.name == "nothing stated" {
				text = tt.text + "\n"
			}
			_, err := ParseExpectations([]byte(text), "e.txt", p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseScriptErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"unknown statement", "duration 10m\nrate 0m-10m 5\nweather sunny", `s.txt:3: cannot read "weather sunny"`},
		{"bad rate", "duration 10m\nrate 0m-10m ten", `s.txt:2: rate: rate "ten"`},
		{"overlap", "duration 10m\nrate 0m-6m 5\nrate 5m-10m 5", "s.txt:3: rate: span \"5m-10m\": starts before the previous one ends (6m0s)"},
		{"backwards span", "duration 10m\nrate 6m-5m 5", `s.txt:2: rate: span "6m-5m": ends before it starts`},
		{"no duration", "rate 0m-10m 5", "s.txt: no duration"},
		{"no load", "duration 10m", "s.txt: no load"},
		{"past the end", "duration 10m\nrate 0m-11m 5", "the last rate ends at 11m0s, after the duration 10m0s"},
		{"bad world", "duration 10m\nrate 0m-10m 5\nworld prefill -1 decode 1", `s.txt:3: world: "-1": want a positive number`},
		{"bad start", "duration 10m\nrate 0m-10m 5\nstart prefill 0", "s.txt:3: start: 0 replicas: want at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScript([]byte(tt.text), "s.txt")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestBrokenExpectationsFailInClosedLoop runs the step scenario for real and checks that
// deliberately wrong statements about it fail, each naming its file and line, while the
// scenario's own expect.txt holds on the same run.
func TestBrokenExpectationsFailInClosedLoop(t *testing.T) {
	sf := loadScenario(t, filepath.Join(scenarioRoot, "step"))
	run, err := Simulate(sf.policy, sf.script)
	if err != nil {
		t.Fatal(err)
	}
	if err := sf.expect.CheckAll(run); err != nil {
		t.Fatalf("the step scenario's own expectations: %v", err)
	}
	tests := []struct {
		stmt  string
		holds bool
	}{
		{"prefill reaches >= 3 within 2m after 30m", true}, // a control: the scenario's own statement
		// Each broken statement contradicts the scenario's own expect.txt or the policy, so it
		// stays false however the planner's numbers move.
		{"prefill never above 2", false},
		{"prefill reaches >= 33 within 5m after 30m", false}, // above maxReplicas
		{"reason sized never appears", false},
		{"attainment < 96%", false},
		{"scale-events <= 0", false},
		{"gpus never above 3", false},
		{"reason reserve on prefill with value > 1.3 appears at least 50 times", false},
		{"pending prefill never above 8", false}, // holds, so the pending mark must go
	}
	for _, tt := range tests {
		t.Run(tt.stmt, func(t *testing.T) {
			x, err := ParseExpectations([]byte(tt.stmt), "broken.txt", sf.policy)
			if err != nil {
				t.Fatal(err)
			}
			err = x.CheckAll(run)
			switch {
			case tt.holds && err != nil:
				t.Errorf("the control statement failed: %v", err)
			case !tt.holds && (err == nil || !strings.Contains(err.Error(), "broken.txt:1:")):
				t.Errorf("want a failure naming broken.txt:1, got %v", err)
			}
		})
	}
}

// TestDeterministic runs one scenario twice: the transcripts are identical.
func TestDeterministic(t *testing.T) {
	sf := loadScenario(t, filepath.Join(scenarioRoot, "spike"))
	a, err := Simulate(sf.policy, sf.script)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Simulate(sf.policy, sf.script)
	if err != nil {
		t.Fatal(err)
	}
	if a.Render("spike") != b.Render("spike") {
		t.Error("two runs of the same scenario rendered different transcripts")
	}
}

func TestStartErrors(t *testing.T) {
	tests := []struct{ name, line, want string }{
		{"unknown service", "start router 2", "s.txt:3: start router: names no single simulated service of the policy"},
		{"above max", "start prefill 33", "s.txt:3: start prefill 33: outside the policy's bounds [1, 32]"},
	}
	p := defaultPolicy(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseScript([]byte("duration 10m\nrate 0m-10m 1\n"+tt.line+"\n"), "s.txt")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Simulate(p, s); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
