package keda_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/tidal-planner/tidal/scaler/keda"
)

// liveDecisions is a hand-written Decisions whose decisions a test changes while streams run.
type liveDecisions struct {
	mu sync.Mutex
	d  map[string]keda.Decision
}

func (l *liveDecisions) Desired(policy, service string) (keda.Decision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d, ok := l.d[policy+"/"+service]; ok {
		return d, nil
	}
	return keda.Decision{}, fmt.Errorf("policy %q service %q: %w", policy, service, keda.ErrUnknown)
}

func (l *liveDecisions) set(key string, d keda.Decision, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok {
		l.d[key] = d
	} else {
		delete(l.d, key)
	}
}

// streamWorld is a server over live decisions with a fake clock and a Broadcast, on bufconn.
type streamWorld struct {
	client    externalscaler.ExternalScalerClient
	server    *keda.Server
	clock     *clocktesting.FakeClock
	changes   *keda.Broadcast
	decisions *liveDecisions
}

const keepAlive = 20 * time.Second

func newStreamWorld(t *testing.T) *streamWorld {
	t.Helper()
	w := &streamWorld{clock: clocktesting.NewFakeClock(t0), changes: &keda.Broadcast{},
		decisions: &liveDecisions{d: map[string]keda.Decision{
			"llama/decode": {Replicas: 0, Time: t0, Interval: 30 * time.Second}}}}
	srv, err := keda.New(keda.Config{Decisions: w.decisions, Clock: w.clock, Changes: w.changes, KeepAlive: keepAlive})
	if err != nil {
		t.Fatal(err)
	}
	w.server = srv
	ln := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	srv.Register(g)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Serve(ln)
	}()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		g.Stop()
		<-done
	})
	w.client = externalscaler.NewExternalScalerClient(conn)
	return w
}

// decide sets llama/decode to replicas, decided now, and notifies the streams.
func (w *streamWorld) decide(replicas int32) {
	w.decisions.set("llama/decode", keda.Decision{Replicas: replicas, Time: w.clock.Now(), Interval: 30 * time.Second}, true)
	w.changes.Notify()
}

// delivered is what a stream delivers next: an activity (End OK), or the status it ends with
// (End Canceled stands for io.EOF, the clean end).
type delivered struct {
	Active bool
	End    codes.Code
}

// step is one thing a test does to the world while a StreamIsActive is open, then what the
// stream must deliver next.
type step struct {
	do   func(w *streamWorld)
	want delivered
}

// TestStreamIsActive opens a stream and runs each case's steps. Every case first receives the
// activity sent at open (the target starts inactive): a decision made before that first Recv may
// or may not be the one the stream opened on, and a case that decided first failed 2 runs in 300.
func TestStreamIsActive(t *testing.T) {
	nothing := func(*streamWorld) {}
	tests := []struct {
		name  string
		steps []step
	}{
		{"sends the activity at once", []step{{do: nothing, want: delivered{Active: false}}}},
		{"sends every change of activity", []step{
			{do: nothing, want: delivered{Active: false}},
			{do: func(w *streamWorld) { w.decide(3) }, want: delivered{Active: true}},
			{do: func(w *streamWorld) { w.decide(0) }, want: delivered{Active: false}},
		}},
		{"a change of the count without a change of activity sends nothing", []step{
			{do: nothing, want: delivered{Active: false}},
			{do: func(w *streamWorld) { w.decide(2) }, want: delivered{Active: true}},
			// 2 -> 5 is still active: nothing is sent; the next message is the change to inactive
			{do: func(w *streamWorld) { w.decide(5); w.decide(0) }, want: delivered{Active: false}},
		}},
		{"resends an unchanged activity every keepalive", []step{
			{do: nothing, want: delivered{Active: false}},
			{do: func(w *streamWorld) { w.decide(1) }, want: delivered{Active: true}},
			{do: func(w *streamWorld) { w.clock.Step(keepAlive) }, want: delivered{Active: true}},
		}},
		{"ends Unavailable once the decision is stale (seen at the keepalive)", []step{
			{do: nothing, want: delivered{Active: false}},
			{do: func(w *streamWorld) { w.clock.Step(5 * keepAlive) }, want: delivered{End: codes.Unavailable}},
		}},
		{"ends NotFound once the target is removed", []step{
			{do: nothing, want: delivered{Active: false}},
			{do: func(w *streamWorld) {
				w.decisions.set("llama/decode", keda.Decision{}, false)
				w.changes.Notify()
			}, want: delivered{End: codes.NotFound}},
		}},
		{"ends cleanly when the server stops", []step{
			{do: nothing, want: delivered{Active: false}},
			{do: func(w *streamWorld) { w.server.Stop() }, want: delivered{End: codes.Canceled}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newStreamWorld(t)
			st, err := w.client.StreamIsActive(t.Context(), ref("llama", "decode"))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				s.do(w)
				m, err := st.Recv()
				got := delivered{Active: m.GetResult(), End: status.Code(err)}
				if errors.Is(err, io.EOF) {
					got.End = codes.Canceled
				}
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Fatalf("step %d (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestStreamIsActiveRefusesAtOpen(t *testing.T) {
	tests := []struct {
		name string
		ref  *externalscaler.ScaledObjectRef
		want codes.Code
	}{
		{"unknown target", ref("llama", "encode"), codes.NotFound},
		{"missing metadata", ref("llama", ""), codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newStreamWorld(t)
			st, err := w.client.StreamIsActive(t.Context(), tt.ref)
			if err == nil {
				_, err = st.Recv()
			}
			if got := status.Code(err); got != tt.want {
				t.Errorf("code %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

func TestStreamMetricSpec(t *testing.T) {
	w := newStreamWorld(t)
	st, err := w.client.StreamMetricSpec(t.Context(), ref("llama", "decode"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.Recv()
	if err != nil {
		t.Fatalf("first spec: %v", err)
	}
	spec, err := w.client.GetMetricSpec(t.Context(), ref("llama", "decode"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(spec.String(), m.String()); diff != "" {
		t.Errorf("streamed spec differs from GetMetricSpec (-GetMetricSpec +streamed):\n%s", diff)
	}
	w.decide(4) // a new decision does not change the spec: nothing is sent
	w.decisions.set("llama/decode", keda.Decision{}, false)
	w.changes.Notify()
	if _, err := st.Recv(); status.Code(err) != codes.NotFound {
		t.Errorf("after the target is removed: %v, want NotFound", err)
	}
}

func TestBroadcast(t *testing.T) {
	var b keda.Broadcast
	first := b.Changed()
	if first != b.Changed() {
		t.Error("two Changed calls before a Notify return different channels")
	}
	b.Notify()
	select {
	case <-first:
	default:
		t.Error("Notify did not close the channel from Changed")
	}
	select {
	case <-b.Changed():
		t.Error("the channel after Notify is already closed")
	default:
	}
	b.Notify() // nobody waiting: no panic
}
