// Package policies owns the policy file: its types, strict YAML decoding (unknown fields and wrong
// types are errors with file and line), defaults applied in one place, validation that reports
// every problem at once with field paths, and compiled cron schedules.
//
// A loaded Policy is immutable. policies imports nothing else from tidal.
package policies
