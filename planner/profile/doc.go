// Package profile loads the performance profiles NVIDIA Dynamo's profiler writes and answers
// questions about them by interpolation.
//
// A profile has two parts, measured per GPU for one GPU type and parallel configuration: prefill
// time to first token and throughput against input length, and decode inter-token latency and
// throughput against KV-cache usage and context length, with the engine's KV capacity
// (max_kv_tokens). Three on-disk layouts are read: the JSON files the planner ConfigMap holds
// (prefill_raw_data.json, decode_raw_data.json), the profiler's selected_*_interpolation/raw_data.npz
// files, and the pre-swept prefill.npz/decode.npz files, which carry a leading configuration axis
// and metadata arrays (tp, dp, pp, gpu_type, ...).
//
// Parsing is strict: missing arrays, mismatched lengths, NaN or infinite values, negative numbers
// and unsorted input lengths are errors that name the file and array. The interpolation functions
// are pure and never extrapolate: queries outside the measured range are clamped to its ends.
//
// Load and LoadDir read files; everything else in the package is pure and safe for concurrent use
// once a Profile is built (a Profile is immutable).
package profile
