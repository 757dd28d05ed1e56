package faultproxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Mode is what a Fault does to a request.
type Mode int

// The modes; see the package documentation.
const (
	ModePass Mode = iota
	ModeRespond
	ModeHang
	ModeDrop
	ModeDelay
	ModeRewrite
)

// String names the mode.
func (m Mode) String() string {
	switch m {
	case ModePass:
		return "pass"
	case ModeRespond:
		return "respond"
	case ModeHang:
		return "hang"
	case ModeDrop:
		return "drop"
	case ModeDelay:
		return "delay"
	case ModeRewrite:
		return "rewrite"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// Fault is the behaviour of the proxy for the requests Match accepts (all when Match is nil).
// Build one with Pass, Error, Respond, Garbage, Hang, Drop, Delay or Rewrite, and narrow it with
// Only.
type Fault struct {
	Mode Mode
	// Status, ContentType and Body are the answer of ModeRespond.
	Status      int
	ContentType string
	Body        []byte
	// Delay is ModeDelay's wait before forwarding.
	Delay time.Duration
	// Rewrite maps the upstream's status and body in ModeRewrite (headers other than
	// Content-Length are kept).
	Rewrite func(status int, body []byte) (int, []byte)
	// Match limits the fault to the requests it accepts; nil accepts every request.
	Match func(*http.Request) bool
}

// Pass forwards every request unchanged.
func Pass() Fault { return Fault{Mode: ModePass} }

// Error answers every request with the status code (e.g. 503) and its text, without forwarding.
func Error(status int) Fault {
	return Respond(status, "text/plain; charset=utf-8", []byte(http.StatusText(status)+" (faultproxy)\n"))
}

// Respond answers every request with the given status, content type and body.
func Respond(status int, contentType string, body []byte) Fault {
	return Fault{Mode: ModeRespond, Status: status, ContentType: contentType, Body: body}
}

// Garbage answers 200 with a JSON content type and a body that is not JSON.
func Garbage() Fault {
	return Respond(http.StatusOK, "application/json", []byte("\x00\xffgarbage{\"status\":\"succ"))
}

// Hang holds every request until the client gives up or the proxy closes.
func Hang() Fault { return Fault{Mode: ModeHang} }

// Drop closes the client's connection without an answer.
func Drop() Fault { return Fault{Mode: ModeDrop} }

// Delay forwards every request after waiting d.
func Delay(d time.Duration) Fault { return Fault{Mode: ModeDelay, Delay: d} }

// Rewrite forwards every request and replaces the upstream's answer with f's.
func Rewrite(f func(status int, body []byte) (int, []byte)) Fault {
	return Fault{Mode: ModeRewrite, Rewrite: f}
}

// Only returns f limited to the requests match accepts; the others pass.
func (f Fault) Only(match func(*http.Request) bool) Fault {
	f.Match = match
	return f
}

// Options configure a Proxy. The zero value serves plain HTTP and forwards with
// http.DefaultTransport.
type Options struct {
	// Transport carries forwarded requests to the upstream (default http.DefaultTransport).
	Transport http.RoundTripper
	// TLS, when set, makes the proxy serve HTTPS with this configuration (it must hold a
	// certificate); URL then starts with https://.
	TLS *tls.Config
}

// Counts is what the proxy has seen: every request, and those a fault other than pass handled.
type Counts struct {
	Requests, Faulted int64
}

// Proxy is a fault-injecting reverse proxy. Close it when done.
type Proxy struct {
	url    string
	srv    *http.Server
	rp     *httputil.ReverseProxy
	closed chan struct{}
	once   sync.Once

	fault    atomic.Pointer[Fault]
	requests atomic.Int64
	faulted  atomic.Int64
}

// New starts a proxy on a free loopback port forwarding to upstream (scheme://host[:port], any
// path is prefixed to forwarded paths). It passes every request until Set says otherwise.
func New(upstream string, opts Options) (*Proxy, error) {
	target, err := url.Parse(upstream)
	if err != nil || target.Scheme == "" || target.Host == "" {
		return nil, fmt.Errorf("faultproxy: upstream %q is not an absolute URL (want scheme://host:port): %v", upstream, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listening on loopback: %w", err)
	}
	p := &Proxy{closed: make(chan struct{})}
	p.rp = httputil.NewSingleHostReverseProxy(target)
	p.rp.Transport = opts.Transport
	p.rp.FlushInterval = -1 // stream watches and chunked answers as they come
	p.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
	}
	p.fault.Store(&Fault{Mode: ModePass})
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		// An empty map turns HTTP/2 off, so Drop can hijack every connection.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	scheme := "http"
	if opts.TLS != nil {
		ln = tls.NewListener(ln, opts.TLS.Clone())
		scheme = "https"
	}
	p.url = scheme + "://" + ln.Addr().String()
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// NewT is New for tests: it fails the test on error and closes the proxy at cleanup.
func NewT(t testing.TB, upstream string, opts Options) *Proxy {
	t.Helper()
	p, err := New(upstream, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// URL is the proxy's base URL (http://127.0.0.1:port, or https:// with Options.TLS).
func (p *Proxy) URL() string { return p.url }

// Set makes f the behaviour for requests that arrive from now on.
func (p *Proxy) Set(f Fault) { p.fault.Store(&f) }

// Counts returns the requests seen and faulted so far.
func (p *Proxy) Counts() Counts {
	return Counts{Requests: p.requests.Load(), Faulted: p.faulted.Load()}
}

// Close stops the proxy: it releases hanging requests, closes every connection and returns once
// the listener is closed.
func (p *Proxy) Close() error {
	p.once.Do(func() { close(p.closed) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := p.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = p.srv.Close()
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("faultproxy: closing: %w", err)
	}
	return nil
}

// ServeHTTP applies the current fault to one request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	f := *p.fault.Load()
	if f.Mode == ModePass || f.Match != nil && !f.Match(r) {
		p.rp.ServeHTTP(w, r)
		return
	}
	p.faulted.Add(1)
	switch f.Mode {
	case ModeRespond:
		respond(w, f.Status, f.ContentType, f.Body)
	case ModeHang:
		select {
		case <-r.Context().Done():
		case <-p.closed:
			panic(http.ErrAbortHandler) // the client sees its connection cut, not an empty 200
		}
	case ModeDrop:
		drop(w)
	case ModeDelay:
		p.delay(w, r, f.Delay)
	case ModeRewrite:
		p.rewrite(w, r, f.Rewrite)
	default:
		http.Error(w, "faultproxy: unknown mode "+f.Mode.String(), http.StatusInternalServerError)
	}
}

// respond writes a complete answer.
func respond(w http.ResponseWriter, status int, contentType string, body []byte) {
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// drop closes the connection under w without writing anything.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Cannot happen on HTTP/1.1; abort the handler so the server resets the stream.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // a reset, not an orderly close
	}
	_ = conn.Close()
}

// delay waits d (or until the client or the proxy gives up), then forwards.
func (p *Proxy) delay(w http.ResponseWriter, r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		p.rp.ServeHTTP(w, r)
	case <-r.Context().Done():
	case <-p.closed:
		panic(http.ErrAbortHandler)
	}
}

// rewrite forwards r, buffers the upstream's answer and writes f's replacement of it.
func (p *Proxy) rewrite(w http.ResponseWriter, r *http.Request, f func(int, []byte) (int, []byte)) {
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	r = r.Clone(r.Context())
	r.Header.Del("Accept-Encoding") // f sees the plain body, not gzip
	p.rp.ServeHTTP(rec, r)
	status, body := rec.status, rec.body.Bytes()
	if f != nil {
		status, body = f(status, body)
	}
	for k, vs := range rec.header {
		if k == "Content-Length" || k == "Content-Encoding" {
			continue
		}
		w.Header()[k] = vs
	}
	respond(w, status, "", body)
}

// recorder buffers a forwarded answer for rewrite.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

var _ io.Writer = (*recorder)(nil)
