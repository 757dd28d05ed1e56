// Package compete holds the autoscalers tidal is compared with in the simulator, each a
// sim.Autoscaler driven in the same world with the same seed:
//
//   - Static: a fixed allocation (Search finds the smallest that meets the SLO);
//   - Reactive: an HPA/KEDA-style threshold scaler with the HPA's formula, tolerance, sync
//     period, scale-up policy and scale-down stabilisation;
//   - Dynamo: NVIDIA Dynamo's SLA planner as publicly described (180 s interval, last-interval
//     predictor, prefill and decode sized from the profile's throughput);
//   - Oracle: knows the future arrivals; sizes with the simulator's own capacity model and
//     requests replicas one startup time ahead: the lower reference.
//
// Each is deterministic and holds only its own state; one value serves one run.
package compete
