// Package model says what one replica can carry within latency targets: from a Dynamo profile
// (Profile), learned online from observations (Learned), and a profile calibrated against the
// latencies actually observed (Calibrator).
//
// Capacities are per replica: a replica with a different GPU count than the profiled engine is
// scaled linearly (twice the GPUs, twice the engines). Latencies are in seconds, rates in tokens/s.
// Everything here is pure and deterministic; Profile values are immutable, Learned and Calibrator
// are mutable values that are not safe for concurrent use (copy them to snapshot).
package model
