package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
	"github.com/tidal-planner/tidal/test/faultproxy"
)

// faultRow is one line of the fault table a suite prints.
type faultRow struct {
	fault, outcome string
	wrongWrites    int
	recovery       time.Duration
}

func printFaultTable(t *testing.T, title string, rows []faultRow) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n| fault | outcome | wrong writes | recovery |\n|---|---|---|---|\n", title)
	for _, r := range rows {
		rec := "-"
		if r.recovery > 0 {
			rec = r.recovery.Round(10 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", r.fault, r.outcome, r.wrongWrites, rec)
	}
	t.Log(b.String())
	fmt.Print(b.String())
}

// kubeSpan is how long each apiserver fault lasts: 3 planning intervals.
const kubeSpan = 3 * e2eInterval

// TestAPIServerFaults runs the real tidal (in process, as the shipped RBAC's ServiceAccount)
// against the real kube-apiserver through a fault proxy, with the real Prometheus, and injects the
// apiserver-side faults of issue 13 one after the other: 503s, hangs, dropped connections, a 409
// storm on /scale, a deleted DGDSA, a deleted DGD, the update and get verbs removed from the
// shipped ClusterRole, an adapter that cannot be read while another service scales, and another
// writer fighting over the frontend. Each row asserts zero wrong writes (no persisted /scale
// value the fault-free run would not write: while a fault lasts that is any write, except where
// the row says which value is due), the Event and tidal_errors_total kind the fault must raise,
// and recovery: the first correct decision (read, planned, at the expected count) within 2
// planning intervals of the fault's end. It prints the fault table.
func TestAPIServerFaults(t *testing.T) {
	w := newE2EWorld(t)
	cfg, proxy := w.proxiedConfig(kubetest.Tidal)
	puts := recordPuts(proxy)
	w.runOperator(t)
	path := w.e2ePolicy(t.TempDir())
	replaceIn(t, path, "startupTimeout: 30s", "startupTimeout: 30s, conflictBackoff: 20s")
	var logs syncWriter
	td := w.startTidalConfig(runFlags{policies: path}, &logs, cfg)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tidal logs:\n%s", logs.String())
		}
	})
	steadyTick(t, td, 2, 90*time.Second)
	ticks := collectTicks(t, td)
	fe, wk := scaler.AdapterName(e2eDGD, e2eFrontend), scaler.AdapterName(e2eDGD, e2eWorker)
	k := &kubeFaults{w: w, td: td, proxy: proxy, puts: puts, ticks: ticks, logs: &logs, fe: fe, wk: wk}
	var rows []faultRow
	for _, f := range k.rows() {
		var row faultRow
		if !t.Run(f.name, func(t *testing.T) { row = k.run(t, f) }) {
			row.outcome = "FAILED: " + row.outcome
		}
		row.fault = f.name
		rows = append(rows, row)
	}
	printFaultTable(t, "apiserver faults (interval 2s, each fault 6s)", rows)
}

// kubeFaults is the world of TestAPIServerFaults.
type kubeFaults struct {
	w      *e2eWorld
	td     *tidal
	proxy  *faultproxy.Proxy
	puts   *putLog
	ticks  *kubeTicks
	logs   *syncWriter
	fe, wk string
}

// kubeFault is one row: start the fault, end it; the frontend count tidal must decide after it
// (allowed lists the values a write may carry during the fault, none by default); the Event
// (reason on object) and error metric line it must raise.
type kubeFault struct {
	name        string
	start, stop func(t *testing.T)
	after       int32
	allowed     []int32
	eventReason string
	eventObject string
	metric      string // a tidal_errors_total line that must grow
	check       func(t *testing.T, from, to time.Time) string
	// until, when set, replaces the fixed span: it returns when the fault has been exercised.
	until func(t *testing.T, began time.Time)
	// otherWriter: another writer writes during the fault, so only tidal's own persisted PUTs
	// count as writes; recoveryLimit overrides the 2-interval recovery bound.
	otherWriter   bool
	recoveryLimit time.Duration
}

func (k *kubeFaults) errLine(stage, kind string) string {
	return fmt.Sprintf(`tidal_errors_total{kind=%q,policy="e2e",stage=%q}`, kind, stage)
}

// run executes one row and returns its measured outcome.
func (k *kubeFaults) run(t *testing.T, f kubeFault) faultRow {
	var row faultRow
	before := 0.0
	if f.metric != "" {
		before = kubeMetric(t, k.td, f.metric)
	}
	began := time.Now()
	f.start(t)
	if f.until != nil {
		f.until(t, began)
	} else {
		<-time.After(kubeSpan) // the fault lasts three planning intervals (its length, not a timing assertion)
	}
	var extra string
	if f.check != nil {
		extra = f.check(t, began, time.Now())
	}
	f.stop(t)
	ended := time.Now()
	k.proxy.Set(k.puts.fault())
	for _, wr := range k.writesDuring(f, began, ended) {
		if !containsInt(f.allowed, wr.replicas) {
			row.wrongWrites++
			t.Errorf("wrong write during the fault: %s=%d at %s", wr.adapter, wr.replicas, wr.at.Format("15:04:05.000"))
		}
	}
	if f.metric != "" {
		if after := kubeMetric(t, k.td, f.metric); after <= before {
			t.Errorf("%s did not grow (%g -> %g)", f.metric, before, after)
		}
	}
	if f.eventReason != "" && !k.w.waitEvent(t, f.eventReason, f.eventObject, 10*time.Second) {
		t.Errorf("no %s Event on %s", f.eventReason, f.eventObject)
	}
	limit := f.recoveryLimit
	if limit == 0 {
		limit = 2 * e2eInterval
	}
	tk, ok := k.ticks.firstAfter(t, ended, limit+30*time.Second, decided(f.after))
	switch {
	case !ok:
		t.Errorf("no correct decision (%d frontends, read and planned) within 30s of the fault's end", f.after)
		row.outcome = "no recovery"
	default:
		row.recovery = tk.Time.Sub(ended)
		if row.recovery > limit {
			t.Errorf("first correct decision %s after the fault ended, want within %s", row.recovery, limit)
		}
	}
	if row.outcome == "" {
		row.outcome = k.outcome(f, began, ended, extra)
	}
	// Settle before the next row: the recovery's write has landed and been read back, so it is
	// not counted against the next fault.
	if _, ok := k.ticks.firstAfter(t, tk.Time, 30*time.Second, func(tk planner.Tick) bool {
		s, ok := tk.Decision.Service(e2eFrontend)
		return ok && s.ReplicasKnown && s.Current == f.after && !s.Write
	}); ok {
		<-time.After(200 * time.Millisecond) // the operator's 100 ms poll of the DGDSAs has seen it
	}
	return row
}

// outcome summarises what tidal did during a fault.
func (k *kubeFaults) outcome(f kubeFault, began, ended time.Time, extra string) string {
	held, errs := 0, map[string]int{}
	ts := k.ticks.between(began, ended)
	for _, tk := range ts {
		if s, ok := tk.Decision.Service(e2eFrontend); ok && !s.Write {
			held++
		}
		for _, e := range tk.Errors {
			errs[string(e.Stage)+"/"+errorKind(e.Err)]++
		}
	}
	var parts []string
	parts = append(parts, fmt.Sprintf("%d/%d ticks wrote nothing", held, len(ts)))
	for k, n := range errs {
		parts = append(parts, fmt.Sprintf("%s x%d", k, n))
	}
	if f.eventReason != "" {
		parts = append(parts, "Event "+f.eventReason)
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	return strings.Join(parts, "; ")
}

func containsInt(vs []int32, v int32) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// replaceIn replaces old with new in a file, failing if old is absent.
func replaceIn(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rows lists the apiserver faults in the order they run; each starts from the count the previous
// one left.
func (k *kubeFaults) rows() []kubeFault {
	w, p := k.w, k.proxy
	set := func(f faultproxy.Fault) func(*testing.T) { return func(*testing.T) { p.Set(f) } }
	none := func(*testing.T) {}
	var dgd, adapter *unstructured.Unstructured
	var stopWriter context.CancelFunc
	var writerDone chan struct{}
	return []kubeFault{
		{name: "503 on every request", start: set(faultproxy.Error(http.StatusServiceUnavailable)), stop: none,
			after: 2, metric: k.errLine("replicas", "api")},
		{name: "apiserver hangs", start: set(faultproxy.Hang()), stop: none,
			after: 2, metric: k.errLine("replicas", "api")},
		{name: "apiserver down (connections dropped)", start: set(faultproxy.Drop()), stop: none,
			after: 2, metric: k.errLine("replicas", "api")},
		{name: "409 storm on /scale, scale-up due", stop: none, after: 5,
			start: func(*testing.T) {
				p.Set(faultproxy.Error(http.StatusConflict).Only(isScalePut))
				w.setLoad(3 * e2eBaseRate)
			},
			until:  k.untilDecided(5),
			metric: k.errLine("apply", "conflict"), eventReason: scaler.ReasonScaleFailed, eventObject: k.fe},
		{name: "DGDSA deleted", after: 5,
			start: func(t *testing.T) {
				adapter = k.getAdapter(t, k.fe)
				if err := w.adapters().Delete(t.Context(), k.fe, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			stop: func(t *testing.T) {
				if _, err := w.adapters().Create(t.Context(), recreate(adapter), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				checkNoDGDWrites(t, w)
			},
			metric: k.errLine("replicas", "adapter-missing"), eventReason: scaler.ReasonAdapterMissing, eventObject: e2eDGD},
		{name: "DGD deleted", after: 5,
			start: func(t *testing.T) {
				var err error
				if dgd, err = w.dgds().Get(t.Context(), e2eDGD, metav1.GetOptions{}); err != nil {
					t.Fatal(err)
				}
				if err := w.dgds().Delete(t.Context(), e2eDGD, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			stop: func(t *testing.T) {
				if _, err := w.dgds().Create(t.Context(), recreate(dgd), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
				w.syncStatus()
			},
			metric: k.errLine("replicas", "deployment-missing"), eventReason: scaler.ReasonDeploymentMissing, eventObject: e2eDGD},
		{name: "RBAC: update on /scale removed, scale-up due", after: 8,
			start: func(t *testing.T) {
				w.setClusterRoleVerbs(t, "dynamographdeploymentscalingadapters/scale", "get")
				w.setLoad(5 * e2eBaseRate)
			},
			until: k.untilDecided(8),
			stop: func(t *testing.T) {
				w.setClusterRoleVerbs(t, "dynamographdeploymentscalingadapters/scale", "get", "update")
			},
			metric: k.errLine("apply", "forbidden"), eventReason: scaler.ReasonScaleForbidden, eventObject: k.fe},
		{name: "RBAC: get on DGDs removed", after: 8,
			start: func(t *testing.T) { w.setClusterRoleVerbs(t, "dynamographdeployments", "list", "watch") },
			stop: func(t *testing.T) {
				w.setClusterRoleVerbs(t, "dynamographdeployments", "get", "list", "watch")
			},
			metric: k.errLine("replicas", "forbidden"), eventReason: scaler.ReasonScaleForbidden, eventObject: e2eDGD},
		{name: "worker DGDSA unreadable, frontend scale-down due", after: 5, allowed: []int32{5, 6, 7},
			start: func(*testing.T) {
				p.Set(faultproxy.Error(http.StatusInternalServerError).Only(func(r *http.Request) bool {
					return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+k.wk+"/scale")
				}))
				w.setLoad(3 * e2eBaseRate)
			},
			until: k.untilWritten(k.fe, 5),
			stop:  none, metric: k.errLine("replicas", "api"),
			check: k.workerUnknown},
		{name: "another writer sets the frontend to 8 every second", after: 5, allowed: nil, otherWriter: true,
			recoveryLimit: 20*time.Second + 2*e2eInterval, // the back-off, then the write

			start: func(t *testing.T) {
				var ctx context.Context
				ctx, stopWriter = context.WithCancel(context.Background())
				writerDone = make(chan struct{})
				go func() {
					defer close(writerDone)
					for ctx.Err() == nil {
						_ = w.setAdapter(ctx, e2eFrontend, 8)
						select {
						case <-ctx.Done():
						case <-time.After(time.Second): // the other autoscaler's period
						}
					}
				}()
			},
			until: func(*testing.T, time.Time) { <-time.After(5 * e2eInterval) }, // 10 s of fighting
			check: k.conflictSignals,
			stop: func(*testing.T) {
				stopWriter()
				<-writerDone
			},
			eventReason: scaler.ReasonConflictingWriter, eventObject: k.fe},
	}
}

func (k *kubeFaults) getAdapter(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := k.w.adapters().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// untilDecided waits until tidal has decided want frontends from read replicas (it would write
// them: the fault has been exercised on the write), at most 30 s.
func (k *kubeFaults) untilDecided(want int32) func(*testing.T, time.Time) {
	return func(t *testing.T, began time.Time) {
		if _, ok := k.ticks.firstAfter(t, began, 30*time.Second, func(tk planner.Tick) bool {
			s, ok := tk.Decision.Service(e2eFrontend)
			return ok && s.ReplicasKnown && s.Desired == want && s.Write
		}); !ok {
			t.Errorf("tidal never decided %d frontends during the fault", want)
		}
		<-time.After(e2eInterval) // one more refused attempt
	}
}

// untilWritten waits until a write of n to adapter, at most 40 s.
func (k *kubeFaults) untilWritten(adapter string, n int32) func(*testing.T, time.Time) {
	return func(t *testing.T, began time.Time) {
		k.w.writes.waitFor(t, adapter, began, 40*time.Second, func(v int32) bool { return v == n })
	}
}

// workerUnknown checks that while the worker's adapter could not be read, its decisions said so
// and were never written, and that its adapter was not written.
func (k *kubeFaults) workerUnknown(t *testing.T, from, to time.Time) string {
	unknown := 0
	for _, tk := range k.ticks.between(from, to) {
		if s, ok := tk.Decision.Service(e2eWorker); ok && !s.ReplicasKnown {
			unknown++
			if s.Write {
				t.Errorf("tick at %s writes the unknown worker", tk.Time.Format("15:04:05.000"))
			}
		}
	}
	if unknown == 0 {
		t.Error("no tick saw the worker's replicas as unknown: the fault was not exercised")
	}
	for _, wr := range k.w.writes.snapshot() {
		if wr.adapter == k.wk && !wr.at.Before(from) {
			t.Errorf("the unreadable worker's adapter was written: %d at %s", wr.replicas, wr.at.Format("15:04:05.000"))
		}
	}
	return fmt.Sprintf("worker unknown in %d ticks, never written", unknown)
}

// conflictSignals checks, while the other writer runs, that tidal sent no PUT at all, set
// tidal_conflicting_writer and logged the conflict once.
func (k *kubeFaults) conflictSignals(t *testing.T, from, to time.Time) string {
	sent := 0
	for _, p := range k.puts.since(from) {
		if p.at.Before(to) && p.adapter == k.fe {
			sent++
		}
	}
	if sent > 0 {
		t.Errorf("tidal sent %d /scale updates while another writer set the frontend every second, want 0", sent)
	}
	line := fmt.Sprintf(`tidal_conflicting_writer{deployment=%q,namespace=%q,policy="e2e",service=%q}`, e2eDGD, k.w.ns, e2eFrontend)
	if v := kubeMetric(t, k.td, line); v != 1 {
		t.Errorf("%s = %g, want 1", line, v)
	}
	logged := strings.Count(k.logs.String(), "not writing this service until it is quiet")
	if logged != 1 {
		t.Errorf("the conflict was logged %d times, want once", logged)
	}
	return fmt.Sprintf("%d PUTs by tidal while the other writer ran; tidal_conflicting_writer 1; logged %d", sent, logged)
}
