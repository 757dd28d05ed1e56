// Package metrics reads the live signals of a Dynamo deployment from Prometheus (client_golang's
// v1 API) and turns them into planner observations.
//
// An Adapter serves any number of policies. Observe reads one tick: the signals that use their
// default query (Dynamo metric names filtered by model and dynamo_namespace, see DefaultQuery)
// go as one batched instant query, each override as its own; all run concurrently under one
// bound and one per-tick deadline. Backfill reads a signal's history with query_range in chunks
// that respect Prometheus's 11,000-points-per-series limit.
//
// A failed, empty, NaN, infinite or stale query becomes an explicit missing value with its reason
// (the Reason* prefixes), never a zero. So does a windowed signal (a rate, mean or quantile over
// the metrics window) whose window the frontend's request counter does not cover, or over which
// it reset: rate() would read such a window low but valid. FailureKinds tells Prometheus failures
// (outages, hangs, error answers) apart from missing data, for the error metric. Observe and Backfill return errors only for what no retry
// can fix (an invalid query template or URL, invalid arguments), or, for Backfill, the chunks that
// failed. docs/metrics.md lists the default queries, the placeholders of overrides and the
// estimator of arrival variability.
//
// metrics imports planner and policies, never scaler. The subpackage promtest is the test harness
// (a real Prometheus and a synthetic Dynamo exporter).
package metrics
