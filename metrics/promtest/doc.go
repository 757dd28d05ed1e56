// Package promtest is a test harness around a real Prometheus server and a synthetic Dynamo
// exporter, for integration tests and benchmarks of anything that reads Dynamo metrics
// (the metrics adapter, the live planner loop).
//
// Start launches /usr/bin/prometheus (Debian's package, installed by .ci/setup) on a free
// loopback port with a generated configuration (scrape and evaluation intervals of 1 s) and a
// temporary storage directory, and waits until it is ready. NewExporter serves, on another
// loopback port, the Dynamo frontend and worker metric names (DESIGN.md §1) with values the
// test sets through Deployment: counters and histograms grow as the set request rate and
// uniform distributions imply, so rate(), means and histogram_quantile() have known answers.
//
// The T-suffixed helpers (StartT, NewExporterT) fail the test when Prometheus is missing or
// does not become ready; they skip only when the environment variable TIDAL_SKIP_PROMETHEUS=1
// says so explicitly. Both clean up after the test.
//
// Unlike the rest of tidal, this package reads the wall clock: Prometheus scrapes in real time,
// so the synthetic counters must grow in real time too. Server and Exporter are safe for
// concurrent use.
package promtest
