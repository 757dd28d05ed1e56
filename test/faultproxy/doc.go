// Package faultproxy is an HTTP reverse proxy on a loopback port whose behaviour a test switches
// at run time, to inject faults between tidal and a real dependency (Prometheus, the
// kube-apiserver) without touching either.
//
// Usage:
//
//	p, err := faultproxy.New(upstreamURL, faultproxy.Options{})  // or faultproxy.NewT(t, ...)
//	defer p.Close()
//	client := ...(p.URL())                       // point the code under test at the proxy
//	p.Set(faultproxy.Error(http.StatusServiceUnavailable))  // every request now gets a 503
//	p.Set(faultproxy.Pass())                     // back to forwarding
//
// A Fault says what happens to each request that reaches the proxy:
//
//   - Pass forwards it to the upstream unchanged (streaming responses, such as a Kubernetes
//     watch, are flushed as they arrive).
//   - Error answers with a status code and a short text body, without contacting the upstream.
//   - Respond answers with a status, a content type and a body of the test's choosing (a canned
//     Prometheus answer, an empty result).
//   - Garbage answers 200 with a JSON content type and a body that is not JSON.
//   - Hang holds the request until the client gives up (its context ends, its connection closes)
//     or the proxy is closed; nothing is sent.
//   - Drop closes the client's connection without an answer (the client sees EOF / reset).
//   - Delay waits a duration, then forwards (or gives up if the client does first).
//   - Rewrite forwards, then lets a function replace the upstream's status and body (for example
//     to turn every sample value into NaN).
//
// Fault.Match, when set, limits a fault to the requests it accepts (for example only PUTs to a
// /scale subresource); other requests pass. Set replaces the fault atomically: requests already
// in flight keep the fault they started with, except that Close releases every hanging request.
//
// Counts reports how many requests the proxy has seen and how many it faulted, so a test can
// check that its fault was actually exercised.
//
// The proxy speaks HTTP/1.1 only (so Drop can hijack connections). With Options.TLS set it serves
// TLS with that configuration; Options.Transport carries requests to the upstream (for example
// one that trusts the apiserver's certificate). A Proxy is safe for concurrent use.
//
// This package is for tests: it reads the wall clock (Delay) and logs nothing.
package faultproxy
