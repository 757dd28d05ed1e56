package faultproxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/test/faultproxy"
)

// upstream answers "hello <path>" with a JSON content type.
func upstream(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "hello "+r.URL.Path)
	}))
	t.Cleanup(s.Close)
	return s
}

// outcome is what a client saw of one request.
type outcome struct {
	Status int
	Body   string
	Err    string // "" , "timeout" or "transport"
}

func get(ctx context.Context, c *http.Client, url string) outcome {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return outcome{Err: "timeout"}
	case err != nil:
		return outcome{Err: "transport"}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return outcome{Status: resp.StatusCode, Body: string(b)}
}

func TestProxyFaults(t *testing.T) {
	up := upstream(t)
	p := faultproxy.NewT(t, up.URL, faultproxy.Options{})
	onlyB := func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/b") }
	tests := []struct {
		name  string
		fault faultproxy.Fault
		path  string
		// deadline bounds the client; the hang case must end by it.
		deadline time.Duration
		want     outcome
		faulted  bool
	}{
		{"pass", faultproxy.Pass(), "/a", 0, outcome{Status: 200, Body: "hello /a"}, false},
		{"503", faultproxy.Error(503), "/a", 0, outcome{Status: 503, Body: "Service Unavailable (faultproxy)\n"}, true},
		{"garbage", faultproxy.Garbage(), "/a", 0, outcome{Status: 200, Body: "\x00\xffgarbage{\"status\":\"succ"}, true},
		{"respond", faultproxy.Respond(200, "application/json", []byte(`{}`)), "/a", 0, outcome{Status: 200, Body: "{}"}, true},
		{"hang until the client gives up", faultproxy.Hang(), "/a", 50 * time.Millisecond, outcome{Err: "timeout"}, true},
		{"drop", faultproxy.Drop(), "/a", 0, outcome{Err: "transport"}, true},
		{"delay then pass", faultproxy.Delay(time.Millisecond), "/a", 0, outcome{Status: 200, Body: "hello /a"}, true},
		{"rewrite", faultproxy.Rewrite(func(s int, b []byte) (int, []byte) {
			return 502, bytes.ToUpper(b)
		}), "/a", 0, outcome{Status: 502, Body: "HELLO /A"}, true},
		{"only: matching path faulted", faultproxy.Error(500).Only(onlyB), "/b", 0, outcome{Status: 500, Body: "Internal Server Error (faultproxy)\n"}, true},
		{"only: other path passes", faultproxy.Error(500).Only(onlyB), "/a", 0, outcome{Status: 200, Body: "hello /a"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p.Set(tc.fault)
			ctx := t.Context()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			before := p.Counts()
			// A fresh transport per case, so a dropped connection is not retried from a pool.
			c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			got := get(ctx, c, p.URL()+tc.path)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			after := p.Counts()
			wantFaulted := int64(0)
			if tc.faulted {
				wantFaulted = 1
			}
			if after.Requests-before.Requests < 1 || after.Faulted-before.Faulted != wantFaulted {
				t.Errorf("counts moved from %+v to %+v; want >=1 request and %d faulted", before, after, wantFaulted)
			}
		})
	}
}

// TestCloseReleasesHangs checks that Close returns while a request hangs, and the client then
// sees an error rather than waiting forever.
func TestCloseReleasesHangs(t *testing.T) {
	up := upstream(t)
	p, err := faultproxy.New(up.URL, faultproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	arrived := make(chan struct{})
	p.Set(faultproxy.Hang().Only(func(*http.Request) bool { close(arrived); return true }))
	done := make(chan outcome)
	go func() { done <- get(context.Background(), &http.Client{}, p.URL()+"/x") }()
	select {
	case <-arrived: // the request is at the proxy and about to hang
	case o := <-done:
		t.Fatalf("request ended before the hang: %+v", o)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if o := <-done; o.Status == 200 {
		t.Errorf("a hanging request got a success after Close: %+v", o)
	}
}

func TestNewRejectsRelativeUpstream(t *testing.T) {
	for _, u := range []string{"", "localhost:9090", "/path"} {
		if p, err := faultproxy.New(u, faultproxy.Options{}); err == nil {
			_ = p.Close()
			t.Errorf("New(%q) succeeded; want an error", u)
		}
	}
}

// TestTLS forwards to an HTTPS upstream through Options.Transport and serves HTTPS itself, as
// in front of a kube-apiserver.
func TestTLS(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "secure "+r.URL.Path)
	}))
	t.Cleanup(up.Close)
	p := faultproxy.NewT(t, up.URL, faultproxy.Options{Transport: up.Client().Transport, TLS: up.TLS})
	if !strings.HasPrefix(p.URL(), "https://") {
		t.Fatalf("URL %q; want https://", p.URL())
	}
	got := get(t.Context(), up.Client(), p.URL()+"/api")
	if diff := cmp.Diff(outcome{Status: 200, Body: "secure /api"}, got); diff != "" {
		t.Errorf("outcome (-want +got):\n%s", diff)
	}
}
