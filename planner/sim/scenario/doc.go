// Package scenario holds tidal simulate's built-in scenario: the embedded Dynamo profile of
// Llama-3.1-8B-Instruct-FP8 on H200 (see h200-llama-3.1-8b/SOURCE.md), the embedded default
// policy, and the synthetic day the scenario replays (a diurnal cycle with bursts).
package scenario
