// Package keda serves tidal's decisions to KEDA as an external scaler: the gRPC service
// externalscaler.ExternalScaler of github.com/kedacore/keda/v2/pkg/scalers/externalscaler.
//
// A ScaledObject trigger of type external names its target in scalerMetadata: policy (the
// policy's metadata.name) and service (the DGD service name). Every call answers from the
// planner's latest decision held in memory (the Decisions port); nothing here queries Prometheus
// or the cluster, so a call costs microseconds and never waits on I/O.
//
// Semantics, per target:
//   - GetMetricSpec: one metric, tidal-<policy>-<service> lower-cased, with TargetSize 1. With KEDA's default
//     AverageValue target the HPA sizes ceil(value / 1) = the desired replica count (within the
//     HPA's 10% tolerance band).
//   - GetMetrics: exactly one value, the desired replica count.
//   - IsActive: desired > 0 (KEDA alone scales 0 <-> 1).
//   - No decision yet, or a decision older than StaleAfter planning intervals: codes.Unavailable,
//     never a made-up number (a zero would scale the service down).
//   - Missing metadata: codes.InvalidArgument; unknown policy or service: codes.NotFound; a
//     service whose actuation is not keda: codes.FailedPrecondition.
//   - StreamIsActive and StreamMetricSpec stay Unimplemented: use trigger type external (KEDA
//     polls), not external-push.
//
// A Server is safe for concurrent use; it holds no state besides its configuration.
package keda
