// Package sim is tidal's simulated world: a discrete-event replay of a request trace against a
// simulated Dynamo deployment (prefill, decode or aggregated engines built from a performance
// profile, a least-loaded router, replicas that cost GPUs from the moment they are requested and
// serve only after their startup time), observed the way Prometheus would observe it and scaled by
// an Autoscaler in simulated time.
//
// A run is deterministic: the same workload, deployment, autoscaler and seed give the same result
// bit for bit. Nothing here reads the clock, does I/O or starts goroutines; time is a float64 count
// of simulated seconds inside the world and a time.Time (Epoch plus the offset) at the Autoscaler
// boundary, so the same planner.Plan the live loop uses can be driven unchanged.
//
// Decode is advanced in closed form between events: an engine's batch is constant between two
// events, so its iteration counter advances linearly at one iteration per inter-token latency and
// the next finishing request is found from a heap keyed by the iteration at which it finishes. A
// simulated day of a few million requests takes seconds.
package sim
