package scaler_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// world is one test's namespace holding the fixture DGD "llama" (testdata/scaler/dgd-disagg.yaml)
// and, unless asked otherwise, the DGDSAs the Dynamo operator would have created for it. The test
// plays the operator: no Dynamo controller runs.
type world struct {
	t       testing.TB
	cluster *kubetest.Cluster
	ns      string
	admin   dynamic.Interface
	events  *fakeRecorder
}

const dgdName = "llama"

// newWorld creates the namespace, the DGD with its status and (withAdapters) its DGDSAs.
func newWorld(t testing.TB, withAdapters bool) *world {
	t.Helper()
	c := needCluster(t)
	ns, err := c.CreateNamespace(t.Context(), "scaler")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := dynamic.NewForConfig(c.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, cluster: c, ns: ns, admin: admin, events: &fakeRecorder{}}
	dgd := fixture(t, "dgd-disagg.yaml")
	dgd.SetNamespace(ns)
	status := dgd.Object["status"]
	got, err := w.dgds().Create(t.Context(), dgd, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the DGD: %v", err)
	}
	got.Object["status"] = status
	if _, err := w.dgds().UpdateStatus(t.Context(), got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("writing the DGD status: %v", err)
	}
	if withAdapters {
		for _, s := range scaler.ParseDeployment(got).Services {
			if s.AdapterEnabled {
				w.createAdapter(s.Name, s.Replicas)
			}
		}
	}
	return w
}

func (w *world) dgds() dynamic.ResourceInterface {
	return w.admin.Resource(scaler.DeploymentResource).Namespace(w.ns)
}

func (w *world) adapters() dynamic.ResourceInterface {
	return w.admin.Resource(scaler.AdapterResource).Namespace(w.ns)
}

// createAdapter creates the DGDSA of a service as the operator does (name, labels, dgdRef, status).
func (w *world) createAdapter(service string, replicas int32) {
	w.t.Helper()
	name := scaler.AdapterName(dgdName, service)
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "nvidia.com/v1alpha1", "kind": "DynamoGraphDeploymentScalingAdapter",
		"metadata": map[string]any{"name": name, "namespace": w.ns, "labels": map[string]any{
			"nvidia.com/dynamo-graph-deployment-name": dgdName, "nvidia.com/dynamo-component": service,
		}},
		"spec": map[string]any{"replicas": int64(replicas), "dgdRef": map[string]any{"name": dgdName, "serviceName": service}},
	}}
	got, err := w.adapters().Create(w.t.Context(), u, metav1.CreateOptions{})
	if err != nil {
		w.t.Fatalf("creating DGDSA %s: %v", name, err)
	}
	got.Object["status"] = map[string]any{"replicas": int64(replicas), "selector": "app=" + name}
	if _, err := w.adapters().UpdateStatus(w.t.Context(), got, metav1.UpdateOptions{}); err != nil {
		w.t.Fatalf("writing DGDSA %s status: %v", name, err)
	}
}

// adapter returns a DGDSA's spec.replicas and resourceVersion, read as Admin.
func (w *world) adapter(service string) (int32, string) {
	w.t.Helper()
	u, err := w.adapters().Get(w.t.Context(), scaler.AdapterName(dgdName, service), metav1.GetOptions{})
	if err != nil {
		w.t.Fatalf("reading DGDSA of %s: %v", service, err)
	}
	r, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	return int32(r), u.GetResourceVersion()
}

// dgdVersion returns the DGD's resourceVersion: it must never change because of tidal.
func (w *world) dgdVersion() string {
	w.t.Helper()
	u, err := w.dgds().Get(w.t.Context(), dgdName, metav1.GetOptions{})
	if err != nil {
		w.t.Fatalf("reading the DGD: %v", err)
	}
	return u.GetResourceVersion()
}

// adapterVersions maps each DGDSA in the namespace to its resourceVersion.
func (w *world) adapterVersions() map[string]string {
	w.t.Helper()
	list, err := w.adapters().List(w.t.Context(), metav1.ListOptions{})
	if err != nil {
		w.t.Fatalf("listing DGDSAs: %v", err)
	}
	versions := map[string]string{}
	for _, u := range list.Items {
		versions[u.GetName()] = u.GetResourceVersion()
	}
	return versions
}

// actuator returns an Actuator acting as user, whose client passes through wrap (if not nil), that
// retries conflicts with backoff (zero: the default), and whose Events go to w.events and, for
// users allowed to create Events, through a real events.k8s.io broadcaster to the API.
func (w *world) actuator(user kubetest.User, wrap func(dynamic.Interface) dynamic.Interface, backoff wait.Backoff) *scaler.Actuator {
	w.t.Helper()
	cfg := w.cluster.Config(user)
	var dyn dynamic.Interface
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	if wrap != nil {
		dyn = wrap(dyn)
	}
	var recorder scaler.EventRecorder = w.events
	if user != kubetest.Nobody { // Nobody may not create Events; spare the log its rejections
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			w.t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		real, stop, err := scaler.NewEventRecorder(ctx, cs)
		if err != nil {
			w.t.Fatal(err)
		}
		w.t.Cleanup(func() { stop(); cancel() })
		recorder = tee{w.events, real}
	}
	a, err := scaler.NewActuator(scaler.ActuatorConfig{Client: dyn, Recorder: recorder, Backoff: backoff})
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

// waitEvent polls the API until an Event with reason about the named object exists and returns it.
func (w *world) waitEvent(reason, kind, name string) eventsv1.Event {
	w.t.Helper()
	cs, err := kubernetes.NewForConfig(w.cluster.Config(kubetest.Admin))
	if err != nil {
		w.t.Fatal(err)
	}
	var found eventsv1.Event
	err = wait.PollUntilContextTimeout(w.t.Context(), 50*time.Millisecond, 30*time.Second, true,
		func(ctx context.Context) (bool, error) {
			list, err := cs.EventsV1().Events(w.ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			for _, e := range list.Items {
				if e.Reason == reason && e.Regarding.Kind == kind && e.Regarding.Name == name {
					found = e
					return true, nil
				}
			}
			return false, nil
		})
	if err != nil {
		w.t.Fatalf("waiting for a %s Event on %s %s: %v", reason, kind, name, err)
	}
	return found
}

// recorded is one Event as the fake recorder saw it.
type recorded struct {
	Kind, Name, Type, Reason, Note string
}

// fakeRecorder keeps the Events it is given, synchronously.
type fakeRecorder struct {
	mu     sync.Mutex
	events []recorded
}

func (f *fakeRecorder) Eventf(regarding, _ runtime.Object, eventtype, reason, _, note string, args ...any) {
	r := recorded{Type: eventtype, Reason: reason, Note: sprintf(note, args...)}
	if ref, ok := regarding.(*corev1.ObjectReference); ok {
		r.Kind, r.Name = ref.Kind, ref.Name
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, r)
}

// got returns the Events recorded so far without their notes (see notes).
func (f *fakeRecorder) got() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]recorded, len(f.events))
	for i, e := range f.events {
		e.Note = ""
		out[i] = e
	}
	return out
}

// notes returns the notes of the Events recorded so far.
func (f *fakeRecorder) notes() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, e := range f.events {
		b.WriteString(e.Note + "\n")
	}
	return b.String()
}

// tee sends each Event to several recorders.
type tee []scaler.EventRecorder

func (t tee) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	for _, r := range t {
		r.Eventf(regarding, related, eventtype, reason, action, note, args...)
	}
}

// sprintf is fmt.Sprintf (kept apart so the recorder reads like client-go's).
func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
