package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/tidal-planner/tidal/policies"
)

// reloadPolicy is a valid policy whose Worker has the given maxReplicas (0 = invalid: below min).
func reloadPolicy(maxReplicas int) string {
	return fmt.Sprintf(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: p}
spec:
  target: {namespace: llm, deployment: d, topology: aggregated}
  services:
    - {name: Worker, role: aggregated, minReplicas: 1, maxReplicas: %d, gpusPerReplica: 1}
  slo: {ttft: {target: 500ms}, itl: {target: 30ms}}
  metrics: {model: m}
`, maxReplicas)
}

// configMapDir lays a directory out as the kubelet mounts a ConfigMap: the files live in a
// timestamped directory, ..data links to it, and each key links through ..data. publish swaps
// ..data atomically to a new directory, as the kubelet does on an update.
type configMapDir struct {
	t    *testing.T
	root string
	gen  int
}

func (c *configMapDir) publish(files map[string]string) {
	c.t.Helper()
	c.gen++
	dir := fmt.Sprintf("..2026_03_02_10_00_%02d.%d", c.gen, c.gen)
	if err := os.Mkdir(filepath.Join(c.root, dir), 0o755); err != nil {
		c.t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(c.root, dir, name), []byte(content), 0o644); err != nil {
			c.t.Fatal(err)
		}
		link := filepath.Join(c.root, name)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), link); err != nil {
				c.t.Fatal(err)
			}
		}
	}
	tmp := filepath.Join(c.root, "..data_tmp")
	if err := os.Symlink(dir, tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.root, "..data")); err != nil {
		c.t.Fatal(err)
	}
}

func TestPolicyWatcherFollowsConfigMapUpdates(t *testing.T) {
	cm := &configMapDir{t: t, root: t.TempDir()}
	cm.publish(map[string]string{"policy.yaml": reloadPolicy(4)})
	var applied []int32
	rejected := 0
	w := &policyWatcher{path: cm.root, logger: slog.New(slog.DiscardHandler),
		apply:    func(ps []policies.Policy) { applied = append(applied, ps[0].ServiceAt(0).MaxReplicas) },
		rejected: func(error) { rejected++ }}
	w.init()
	steps := []struct {
		name         string
		publish      string // "" = no update
		wantApplied  []int32
		wantRejected int
	}{
		{name: "unchanged", wantApplied: nil},
		{name: "valid update", publish: reloadPolicy(8), wantApplied: []int32{8}},
		{name: "same content again", publish: reloadPolicy(8), wantApplied: []int32{8}},
		{name: "invalid update is rejected", publish: reloadPolicy(0), wantApplied: []int32{8}, wantRejected: 1},
		{name: "still invalid: not reported twice", wantApplied: []int32{8}, wantRejected: 1},
		{name: "fixed", publish: reloadPolicy(6), wantApplied: []int32{8, 6}, wantRejected: 1},
	}
	for _, s := range steps {
		if s.publish != "" {
			cm.publish(map[string]string{"policy.yaml": s.publish})
		}
		w.poll()
		if diff := cmp.Diff(s.wantApplied, applied); diff != "" {
			t.Errorf("%s: applied maxReplicas (-want +got):\n%s", s.name, diff)
		}
		if rejected != s.wantRejected {
			t.Errorf("%s: %d rejections, want %d", s.name, rejected, s.wantRejected)
		}
	}
}

// TestPolicyWatcherPollsOnTheClock runs in a testing/synctest bubble: synctest.Wait says when the
// watcher is blocked on the fake clock, and a watcher that never reloads fails at once.
func TestPolicyWatcherPollsOnTheClock(t *testing.T) {
	synctest.Test(t, policyWatcherPollsOnTheClock)
}

func policyWatcherPollsOnTheClock(t *testing.T) {
	cm := &configMapDir{t: t, root: t.TempDir()}
	cm.publish(map[string]string{"policy.yaml": reloadPolicy(4)})
	clk := testingclock.NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))
	got := make(chan int32, 1)
	w := &policyWatcher{path: cm.root, clock: clk, every: 10 * time.Second, logger: slog.New(slog.DiscardHandler),
		apply: func(ps []policies.Policy) { got <- ps[0].ServiceAt(0).MaxReplicas }, rejected: func(error) {}}
	w.init()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	cm.publish(map[string]string{"policy.yaml": reloadPolicy(7)})
	synctest.Wait() // every goroutine blocked: the watcher waits on the fake clock
	if !clk.HasWaiters() {
		t.Fatal("the watcher is not waiting on its clock")
	}
	clk.Step(10 * time.Second)
	select {
	case n := <-got:
		if n != 7 {
			t.Errorf("reloaded maxReplicas %d, want 7", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the watcher did not reload after one interval")
	}
}
