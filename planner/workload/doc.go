// Package workload reads the public LLM-serving traces tidal is judged on and turns them into
// series a forecaster or a simulator can consume.
//
// Readers:
//   - ReadAzure: the Azure LLM inference trace CSV (Splitwise, ISCA'24): one request per row,
//     header TIMESTAMP,ContextTokens,GeneratedTokens, wall-clock timestamps.
//   - ReadMooncake: the Mooncake FAST'25 JSONL traces: one request per line, timestamp in ms.
//   - ReadServeGen / ReadServeGenClient: Alibaba ServeGen per-client rate windows (no header:
//     timestamp, rate, cv, pattern, shape, scale per 600 s window). Per-client windows are kept so
//     a simulator can synthesise arrivals; Aggregate sums rate over clients per window.
//   - ReadSeries: a plain evenly spaced series, header timestamp,value (seconds).
//
// Helpers: Rate buckets requests into per-second rates over a fixed interval; Series is the
// common evenly spaced form (NaN marks a missing point).
//
// Every reader reports malformed input as an error naming the source and the line
// ("name:12: ..."). The readers take io.Reader or fs.FS values and never open files themselves
// except through the fs.FS they are given; they hold no state and are safe for concurrent use.
package workload
