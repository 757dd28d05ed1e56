// Package report presents simulator runs: a terminal table, the JSON document of tidal simulate
// --json, and an HTML page with SVG plots (gonum.org/v1/plot) of load against capacity, replicas
// per service and latency percentiles over time. Writers take an io.Writer or a directory and
// write nothing else.
package report
