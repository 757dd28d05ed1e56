package sim

import "github.com/tidal-planner/tidal/policies"

// ForwardPass is one engine iteration as Dynamo's ForwardPassMetrics (FPM) report it: what the
// pass computed and how long it took on the simulated (true) engine.
type ForwardPass struct {
	// Time is when the pass started, seconds from the workload's start.
	Time float64
	// Service is the index of the engine's service in the deployment; Role its role.
	Service int
	Role    policies.Role
	// PrefillTokens is the prompt tokens of a prefill pass (0 for a decode iteration).
	PrefillTokens float64
	// DecodeRequests and DecodeKVTokens are the sequences and KV tokens of a decode iteration.
	DecodeRequests int
	DecodeKVTokens float64
	// WallTime is the pass's duration, seconds.
	WallTime float64
}

// PassObserver is implemented by autoscalers that learn from forward passes (Dynamo's
// regression planner). The world calls ObservePass for every prefill batch and every change of a
// decode batch (one sample per batch composition: iterations between changes take the same time),
// so implementations should be cheap and keep only what they sample.
type PassObserver interface {
	ObservePass(ForwardPass)
}

// prefillPass reports a prefill batch that starts now.
func (w *world) prefillPass(e *engine, wall float64) {
	if w.passes != nil {
		w.passes.ObservePass(ForwardPass{Time: w.t, Service: e.svc, Role: e.role, PrefillTokens: e.batchTok, WallTime: wall})
	}
}

// decodePass reports a decode batch whose composition just changed.
func (w *world) decodePass(e *engine) {
	if w.passes != nil && e.active.len() > 0 && e.decodes() {
		w.passes.ObservePass(ForwardPass{Time: w.t, Service: e.svc, Role: e.role,
			DecodeRequests: e.active.len(), DecodeKVTokens: e.kvTokens(), WallTime: e.itl})
	}
}
