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
//   - StreamIsActive (trigger type external-push): the activity at once, on every change of it
//     (Config.Changes) and every KeepAlive; it ends with IsActive's error once the decision is
//     lost, and cleanly (OK) when the server stops (Stop).
//   - StreamMetricSpec (KEDA v2.21+, external-push): GetMetricSpec's answer at once, then held
//     open; a target's spec never changes.
//
// Serve adds the standard gRPC health service and keepalives. A Server is safe for concurrent
// use; besides its configuration it holds only the channel Stop closes.
package keda
