// Package scaler applies decisions: it writes the scale subresource of Dynamo's
// DynamoGraphDeploymentScalingAdapter (DGDSA) with client-go, and serves desired replica counts to
// KEDA as an external scaler over gRPC.
//
// A missing adapter is an error to report, never a reason to write anywhere else. scaler imports
// planner and policies, never metrics.
package scaler
