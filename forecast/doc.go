// Package forecast predicts load (requests per second, tokens per second) on evenly spaced series.
//
// It owns the predictors (baselines, least-squares trend, Holt-Winters, autoregression, a Kalman
// local linear trend and an automatic selector) and their prediction intervals. It is pure: no I/O,
// no clock, no goroutines, no logging, and it imports nothing else from tidal.
package forecast
