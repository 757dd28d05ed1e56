package metrics_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// exchange is one recorded Prometheus HTTP answer. Query "*" answers any query not recorded.
type exchange struct {
	Query       string `json:"query"`
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	Body        string `json:"body"`
}

// fixturePath is where a recorded case lives.
func fixturePath(name string) string {
	return filepath.Join("..", "testdata", "metrics", name+".json")
}

// loadFixture reads a recorded case.
func loadFixture(t testing.TB, name string) []exchange {
	t.Helper()
	data, err := os.ReadFile(fixturePath(name))
	if err != nil {
		t.Fatalf("reading fixture: %v (regenerate with: go test ./metrics -run TestCaptureFixtures -capture)", err)
	}
	var xs []exchange
	if err := json.Unmarshal(data, &xs); err != nil {
		t.Fatalf("decoding fixture %s: %v", name, err)
	}
	return xs
}

// replayServer serves recorded exchanges for /api/v1/query, matched by the query text. A query
// listed in hold blocks until its client gives up (a slow Prometheus).
func replayServer(t testing.TB, xs []exchange, hold map[string]bool) *httptest.Server {
	t.Helper()
	byQuery := map[string]exchange{}
	for _, x := range xs {
		byQuery[x.Query] = x
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		q := r.Form.Get("query")
		if hold[q] {
			<-r.Context().Done()
			return
		}
		x, ok := byQuery[q]
		if !ok {
			x, ok = byQuery["*"]
		}
		if !ok {
			http.Error(w, "no recorded answer for "+q, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", x.ContentType)
		w.WriteHeader(x.Status)
		_, _ = io.WriteString(w, x.Body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// recorder is an http.RoundTripper that keeps every query and its answer.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	xs   []exchange
}

// RoundTrip forwards the request and records the query (from the POST form or the URL) and the
// answer.
func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var form []byte
	if req.Body != nil {
		form, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(form))
	}
	vals, _ := url.ParseQuery(string(form))
	if vals.Get("query") == "" {
		vals = req.URL.Query()
	}
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	r.xs = append(r.xs, exchange{Query: vals.Get("query"), Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: string(body)})
	r.mu.Unlock()
	return resp, nil
}

// replayTransport answers from recorded exchanges in memory, with no server and no network, so
// a benchmark measures only the adapter's own work.
type replayTransport struct{ byQuery map[string]exchange }

// newReplayTransport indexes exchanges by query.
func newReplayTransport(xs []exchange) *replayTransport {
	m := make(map[string]exchange, len(xs))
	for _, x := range xs {
		m[x.Query] = x
	}
	return &replayTransport{byQuery: m}
}

// RoundTrip answers a POSTed query from the recording (404 when none matches).
func (rt *replayTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	form, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	vals, err := url.ParseQuery(string(form))
	if err != nil {
		return nil, err
	}
	x, ok := rt.byQuery[vals.Get("query")]
	if !ok {
		x = exchange{Status: http.StatusNotFound, ContentType: "text/plain", Body: "no recorded answer"}
	}
	return &http.Response{
		StatusCode: x.Status, Status: http.StatusText(x.Status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {x.ContentType}}, Body: io.NopCloser(strings.NewReader(x.Body)),
		ContentLength: int64(len(x.Body)), Request: req,
	}, nil
}
