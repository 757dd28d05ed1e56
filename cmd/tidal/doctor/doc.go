// Package doctor is `tidal doctor`: a pre-flight checklist of everything a policy needs before
// tidal is trusted with it, each failure with a concrete fix.
//
// Per policy it checks that Prometheus answers; that every signal tidal reads returns data (with
// the PromQL that returned nothing, its label selector, and the label values Prometheus does
// hold); that the DynamoGraphDeployment exists and is Ready; that every service tidal writes has
// scalingAdapter.enabled and a DynamoGraphDeploymentScalingAdapter (DGDSA); that RBAC lets tidal's
// identity do what it needs (SubjectAccessReview for its ServiceAccount, or SelfSubjectAccessReview);
// that no HorizontalPodAutoscaler, KEDA ScaledObject or Dynamo planner already writes a DGDSA tidal
// writes (two autoscalers fighting); and the GPU budget against the GPUs in use.
//
// Run reads only (apart from access reviews, which persist nothing). A check that could not be
// made (the doctor's own identity may not list HPAs, say) is a warning that says so, never a pass.
// doctor imports metrics and scaler; it is wiring, like the rest of cmd/tidal.
package doctor
