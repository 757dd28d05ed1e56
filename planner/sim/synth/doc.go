// Package synth makes request workloads for the simulator: synthetic load shapes (a diurnal
// sinusoid with bursts, a step, a spike, a ramp) drawn as a non-homogeneous Poisson process, and
// per-request arrivals synthesised from ServeGen's per-client rate windows by drawing
// inter-arrival times from each window's fitted Gamma or Weibull distribution. Token lengths come
// from a TokenSource: a log-normal or a per-request trace sampled with replacement.
//
// Everything is deterministic for a seed (math/rand/v2 PCG) and pure: no I/O, no clock.
package synth
