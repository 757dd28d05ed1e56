// Package ops is tidal run's operations side: the Prometheus metrics tidal exports about itself
// (desired/current/ready replicas, bounds, planned load, observed signals, decision reasons,
// errors by kind, tick durations), the last decisions with their reasons as JSON for
// /debug/decisions, and the HTTP server for /healthz, /readyz, /metrics and /debug/decisions.
//
// Recorder implements planner.Recorder; it is safe for concurrent use.
package ops
