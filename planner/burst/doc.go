// Package burst is the arrival-burstiness estimator tidal reads, in one place for both of its
// users: the live metrics adapter (metrics), which has Prometheus evaluate it as PromQL over
// Dynamo's request counter (Query), and the simulator (planner/sim), which evaluates the same
// expression on the counter its world scrapes (CV, with Increase reproducing PromQL's increase()).
//
// The estimate is the coefficient of variation of inter-arrival times as the square root of the
// Allan factor of request counts over consecutive sub-windows of length step:
// A = E[(N_{i+1} - N_i)^2] / (2 E[N_i]) over range (docs/metrics.md). For a Poisson process A = 1;
// burstier arrivals give A > 1. E[(N_{i+1} - N_i)^2] is read as the median of the squared
// differences over Chi1Median, which equals it for normal differences (counts of many requests),
// so that one step in the load within the range is not read as burstiness for as long as it stays
// in the range.
//
// The package is pure: no I/O, clock or goroutines.
package burst
