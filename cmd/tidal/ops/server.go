package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Checks are the health probes. A nil check passes.
type Checks struct {
	// Live fails when the process should be restarted (e.g. the loop stopped).
	Live func() error
	// Ready fails until the process can serve its purpose (policies loaded, first ticks done).
	Ready func() error
}

// Handler returns the operations mux: /healthz, /readyz, /metrics and /debug/decisions
// (?policy=NAME to filter, ?limit=N to bound; newest first).
func Handler(r *Recorder, c Checks) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", probe(c.Live))
	mux.HandleFunc("GET /readyz", probe(c.Ready))
	mux.Handle("GET /metrics", promhttp.HandlerFor(r.Registry(), promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/decisions", func(w http.ResponseWriter, req *http.Request) {
		limit := 0
		if s := req.URL.Query().Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				http.Error(w, "limit must be a non-negative integer", http.StatusBadRequest)
				return
			}
			limit = n
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r.Decisions(req.URL.Query().Get("policy"), limit))
	})
	return mux
}

// probe answers 200 "ok" when check passes, else 503 with the error.
func probe(check func() error) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if check != nil {
			if err := check(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = fmt.Fprintln(w, "ok")
	}
}

// Serve serves h on addr until ctx ends, then shuts down within 5 s. It returns once the
// listener is closed; a failure to listen is returned at once.
func Serve(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for the operations endpoints on %s: %w", addr, err)
	}
	return ServeListener(ctx, ln, h)
}

// ServeListener is Serve on an open listener (which it closes).
func ServeListener(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serving the operations endpoints: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down the operations endpoints: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving the operations endpoints: %w", err)
	}
	return nil
}
