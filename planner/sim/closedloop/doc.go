// Package closedloop runs golden scenarios in closed loop: tidal's planner (planner.Plan, driven
// as `tidal simulate` drives it) scales a simulated deployment (planner/sim) whose engines answer
// the replicas chosen, so the latencies, queues and attainment the planner sees next follow from
// its own decisions.
//
// A scenario is a directory holding policy.yaml (the policy), script.txt (the load as a schedule of
// arrival rates, the world's speed, the seed) and expect.txt (what must happen, in a handful of
// plain statements the harness checks: ParseExpectations lists the grammar). The package parses
// and runs; reading the files is the caller's (its test's) business, so nothing here does I/O.
//
// A run is deterministic: the same scenario gives the same transcript (Render) bit for bit.
package closedloop
