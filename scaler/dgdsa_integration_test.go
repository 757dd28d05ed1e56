package scaler_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
)

const (
	adapterKind    = "DynamoGraphDeploymentScalingAdapter"
	deploymentKind = "DynamoGraphDeployment"
)

func TestScaleWritesTheAdapter(t *testing.T) {
	tests := []struct {
		name     string
		service  string
		from, to int32
	}{
		{"decode up", "VllmDecodeWorker", 3, 5},
		{"prefill down", "VllmPrefillWorker", 2, 1},
		{"to zero", "VllmPrefillWorker", 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, true)
			dgdBefore := w.dgdVersion()
			a := w.actuator(kubetest.Tidal, nil, wait.Backoff{})
			reasons := []string{"size/sized: 3 -> 5 value=4.2", "clamp/max-replicas: 5 -> 5"}
			res, err := a.Scale(t.Context(), scaler.Request{
				Namespace: w.ns, Deployment: dgdName, Service: tt.service, Replicas: tt.to, From: tt.from, Reasons: reasons,
			})
			if err != nil {
				t.Fatalf("Scale: %v", err)
			}
			adapter := scaler.AdapterName(dgdName, tt.service)
			want := scaler.Result{Adapter: adapter, Previous: tt.from, Replicas: tt.to, Written: true, Attempts: 1}
			if diff := cmp.Diff(want, res); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			if got, _ := w.adapter(tt.service); got != tt.to {
				t.Errorf("DGDSA spec.replicas = %d, want %d", got, tt.to)
			}
			if got := w.dgdVersion(); got != dgdBefore {
				t.Errorf("the DGD changed (resourceVersion %s -> %s); tidal must only write the DGDSA", dgdBefore, got)
			}
			wantEvents := []recorded{{Kind: adapterKind, Name: adapter, Type: "Normal", Reason: scaler.ReasonScaled}}
			if diff := cmp.Diff(wantEvents, w.events.got()); diff != "" {
				t.Errorf("Events (-want +got):\n%s", diff)
			}
			e := w.waitEvent(scaler.ReasonScaled, adapterKind, adapter)
			for _, r := range reasons {
				if !strings.Contains(e.Note, r) {
					t.Errorf("Event note %q lacks reason %q", e.Note, r)
				}
			}
		})
	}
}

func TestScaleSkipsAnUnchangedCount(t *testing.T) {
	w := newWorld(t, true)
	_, before := w.adapter("VllmDecodeWorker")
	a := w.actuator(kubetest.Tidal, nil, wait.Backoff{})
	res, err := a.Scale(t.Context(), scaler.Request{Namespace: w.ns, Deployment: dgdName, Service: "VllmDecodeWorker", Replicas: 3})
	if err != nil {
		t.Fatalf("Scale: %v", err)
	}
	want := scaler.Result{Adapter: scaler.AdapterName(dgdName, "VllmDecodeWorker"), Previous: 3, Replicas: 3}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if _, after := w.adapter("VllmDecodeWorker"); after != before {
		t.Errorf("DGDSA resourceVersion %s -> %s: an unchanged count must not be written", before, after)
	}
	if got := w.events.got(); len(got) != 0 {
		t.Errorf("Events recorded for an unchanged count: %+v", got)
	}
}

func TestScaleDryRunWritesNothing(t *testing.T) {
	w := newWorld(t, true)
	_, before := w.adapter("VllmDecodeWorker")
	a := w.actuator(kubetest.Tidal, nil, wait.Backoff{})
	res, err := a.Scale(t.Context(), scaler.Request{
		Namespace: w.ns, Deployment: dgdName, Service: "VllmDecodeWorker", Replicas: 6, From: 3, DryRun: true,
		Reasons: []string{"size/sized: 3 -> 6"},
	})
	if err != nil {
		t.Fatalf("Scale: %v", err)
	}
	adapter := scaler.AdapterName(dgdName, "VllmDecodeWorker")
	want := scaler.Result{Adapter: adapter, Previous: 3, Replicas: 6, Attempts: 1}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if got, after := w.adapter("VllmDecodeWorker"); got != 3 || after != before {
		t.Errorf("dry-run changed the DGDSA: replicas %d (want 3), resourceVersion %s -> %s", got, before, after)
	}
	wantEvents := []recorded{{Kind: adapterKind, Name: adapter, Type: "Normal", Reason: scaler.ReasonDryRun}}
	if diff := cmp.Diff(wantEvents, w.events.got()); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}
	w.waitEvent(scaler.ReasonDryRun, adapterKind, adapter)
}

func TestScaleRetriesOnConflict(t *testing.T) {
	tests := []struct {
		name      string
		conflicts int  // concurrent writes provoked after a read of /scale
		replicas  bool // they change spec.replicas (another autoscaler), else only a label
		backoff   wait.Backoff
		wantKind  scaler.ErrorKind
		want      scaler.Result
		// wantReplicas is the DGDSA's spec.replicas afterwards.
		wantReplicas int32
		wantEvent    string
	}{
		{
			name: "a label change, then the update lands", conflicts: 1,
			want:         scaler.Result{Previous: 3, Replicas: 5, Written: true, Attempts: 2},
			wantReplicas: 5, wantEvent: scaler.ReasonScaled,
		},
		{
			name: "label changes until retries run out", conflicts: 100, backoff: wait.Backoff{Steps: 3, Duration: time.Millisecond},
			wantKind: scaler.ErrConflict, want: scaler.Result{Previous: 3, Replicas: 5, Attempts: 3},
			wantReplicas: 3, wantEvent: scaler.ReasonScaleFailed,
		},
		{
			// The 409 is not retried into an overwrite: the re-read no longer shows the count the
			// decision was made from, so nothing is written and the other writer's 11 stays.
			name: "another writer's replicas are never overwritten", conflicts: 1, replicas: true,
			wantKind: scaler.ErrChanged, want: scaler.Result{Previous: 11, Replicas: 5, Attempts: 1},
			wantReplicas: 11, wantEvent: scaler.ReasonConflictingWriter,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, true)
			other := &concurrentWriter{w: w, left: tt.conflicts, replicas: tt.replicas}
			a := w.actuator(kubetest.Tidal, other.wrap, tt.backoff)
			res, err := a.Scale(t.Context(), scaler.Request{Namespace: w.ns, Deployment: dgdName, Service: "VllmDecodeWorker", Replicas: 5, From: 3})
			if got := scaler.KindOf(err); got != tt.wantKind {
				t.Fatalf("Scale error %v of kind %q, want kind %q", err, got, tt.wantKind)
			}
			tt.want.Adapter = scaler.AdapterName(dgdName, "VllmDecodeWorker")
			if diff := cmp.Diff(tt.want, res); diff != "" {
				t.Errorf("Result (-want +got):\n%s", diff)
			}
			if got, _ := w.adapter("VllmDecodeWorker"); got != tt.wantReplicas {
				t.Errorf("DGDSA spec.replicas = %d, want %d", got, tt.wantReplicas)
			}
			w.waitEvent(tt.wantEvent, adapterKind, tt.want.Adapter)
		})
	}
}

// TestScaleIsConditionalOnTheDecision: a decision made from a count the adapter no longer holds
// (a stale read, another writer) writes nothing; a lease that cannot be proven writes nothing.
func TestScaleIsConditionalOnTheDecision(t *testing.T) {
	tests := []struct {
		name     string
		from     int32
		lease    func() time.Duration
		wantKind scaler.ErrorKind
	}{
		{name: "decided from 2, adapter holds 3", from: 2, wantKind: scaler.ErrChanged},
		{name: "lease expired", from: 3, lease: func() time.Duration { return 0 }, wantKind: scaler.ErrNotLeader},
		{name: "lease valid", from: 3, lease: func() time.Duration { return time.Minute }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, true)
			_, before := w.adapter("VllmDecodeWorker")
			dyn, err := dynamic.NewForConfig(w.cluster.Config(kubetest.Tidal))
			if err != nil {
				t.Fatal(err)
			}
			a, err := scaler.NewActuator(scaler.ActuatorConfig{Client: dyn, Recorder: w.events, Lease: tt.lease})
			if err != nil {
				t.Fatal(err)
			}
			res, err := a.Scale(t.Context(), scaler.Request{Namespace: w.ns, Deployment: dgdName, Service: "VllmDecodeWorker", Replicas: 6, From: tt.from})
			if got := scaler.KindOf(err); got != tt.wantKind {
				t.Fatalf("Scale error %v of kind %q, want kind %q", err, got, tt.wantKind)
			}
			got, after := w.adapter("VllmDecodeWorker")
			if tt.wantKind != "" && (got != 3 || after != before || res.Written || res.Attempts != 0) {
				t.Errorf("refused write changed the DGDSA: replicas %d, resourceVersion %s -> %s, result %+v", got, before, after, res)
			}
			if tt.wantKind == "" && got != 6 {
				t.Errorf("DGDSA spec.replicas = %d, want 6", got)
			}
		})
	}
}

// concurrentWriter wraps the actuator's client: after each of the first `left` reads of a DGDSA's
// /scale it sets that DGDSA's spec.replicas to 11, 12, ... as Admin, so the actuator's update,
// which carries the resourceVersion it read, meets a real 409 Conflict from the API server.
type concurrentWriter struct {
	w        *world
	mu       sync.Mutex
	left     int
	replicas bool // set spec.replicas; else touch a label (a 409 that changes no count)
	wrote    int32
}

func (c *concurrentWriter) wrap(d dynamic.Interface) dynamic.Interface {
	return interferingClient{d, c}
}

// interfere runs after a /scale read.
func (c *concurrentWriter) interfere(ctx context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.left == 0 {
		return nil
	}
	c.left--
	c.wrote++
	u, err := c.w.adapters().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if !c.replicas {
		u.SetLabels(map[string]string{"touched": fmt.Sprint(c.wrote)})
	} else if err := unstructured.SetNestedField(u.Object, int64(10+c.wrote), "spec", "replicas"); err != nil {
		return err
	}
	_, err = c.w.adapters().Update(ctx, u, metav1.UpdateOptions{})
	return err
}

type interferingClient struct {
	dynamic.Interface
	c *concurrentWriter
}

func (i interferingClient) Resource(gvr schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	return interferingResource{i.Interface.Resource(gvr), gvr, i.c}
}

type interferingResource struct {
	dynamic.NamespaceableResourceInterface
	gvr schema.GroupVersionResource
	c   *concurrentWriter
}

func (r interferingResource) Namespace(ns string) dynamic.ResourceInterface {
	return interferingNamespaced{r.NamespaceableResourceInterface.Namespace(ns), r.gvr, r.c}
}

type interferingNamespaced struct {
	dynamic.ResourceInterface
	gvr schema.GroupVersionResource
	c   *concurrentWriter
}

func (r interferingNamespaced) Get(ctx context.Context, name string, opts metav1.GetOptions, sub ...string) (*unstructured.Unstructured, error) {
	u, err := r.ResourceInterface.Get(ctx, name, opts, sub...)
	if err == nil && r.gvr == scaler.AdapterResource && len(sub) == 1 && sub[0] == "scale" {
		if err := r.c.interfere(ctx, name); err != nil {
			return nil, errors.Join(errors.New("test's concurrent write failed"), err)
		}
	}
	return u, err
}

func TestObserveReadsTheAdapters(t *testing.T) {
	w := newWorld(t, true)
	a := w.actuator(kubetest.Tidal, nil, wait.Backoff{})
	if _, err := a.Scale(t.Context(), scaler.Request{Namespace: w.ns, Deployment: dgdName, Service: "VllmDecodeWorker", Replicas: 6, From: 3}); err != nil {
		t.Fatalf("Scale: %v", err)
	}
	dyn, err := dynamic.NewForConfig(w.cluster.Config(kubetest.Tidal))
	if err != nil {
		t.Fatal(err)
	}
	d, err := scaler.Observe(t.Context(), dyn, w.ns, dgdName)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	// No operator runs, so the DGD still says 3: Desired must come from the DGDSA.
	var got []scaler.AdapterState
	for _, s := range d.Services {
		got = append(got, s.Adapter)
	}
	want := []scaler.AdapterState{
		{}, // Frontend: no adapter
		{Found: true, Replicas: 6, StatusReplicas: 3}, // VllmDecodeWorker
		{Found: true, Replicas: 2, StatusReplicas: 2}, // VllmPrefillWorker
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("adapters (-want +got):\n%s", diff)
	}
	if o := d.Observation("VllmDecodeWorker"); o.Desired != 6 || !o.ReplicasKnown {
		t.Errorf("Observation %+v, want Desired 6 from the DGDSA", o)
	}
	if _, err := scaler.Observe(t.Context(), dyn, w.ns, "ghost"); scaler.KindOf(err) != scaler.ErrDeploymentMissing {
		t.Errorf("Observe of a missing DGD: %v, want kind %q", err, scaler.ErrDeploymentMissing)
	}
}
