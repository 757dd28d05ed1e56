// Package metrics reads the live signals of a Dynamo deployment from Prometheus (client_golang's
// v1 API) and turns them into planner observations.
//
// A failed, empty, NaN, infinite or stale query becomes an explicit missing value with its reason,
// never a zero. metrics imports planner and policies, never scaler.
package metrics
