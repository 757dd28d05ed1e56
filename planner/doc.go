// Package planner is tidal's decision core: Plan turns observations, a policy and the planner's
// own state into the desired replicas of every service, each with the reasons that produced it.
//
// Plan is pure: no I/O, no clock (time arrives as a value), no goroutines, no logging. The Loop,
// also here, owns the clock and calls the ports (an observer and an actuator) defined where they
// are used. planner imports forecast and policies, and never client-go, Prometheus or gRPC.
//
// Plan's steps each live in a file named for the step (pipeline.go lists them); arch_test.go at
// the repository root checks that the decision files stay pure.
package planner
