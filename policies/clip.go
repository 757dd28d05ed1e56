package policies

import (
	"strconv"
	"unicode/utf8"
)

// MaxEcho is how many bytes of a user-provided string (a policy or service name from a KEDA
// trigger, a query parameter, a field value) an error or log line repeats: enough to recognise
// it, never enough for a caller to make tidal echo megabytes back (issue 13, defect 8).
const MaxEcho = 128

// MaxMessage bounds a whole error message built from user input (a FieldError, a gRPC status).
const MaxMessage = 1024

// Clip returns s cut to MaxEcho bytes for echoing in an error or log: unchanged when it fits,
// else its first bytes (on a rune boundary) followed by "...(N more bytes)". It is the one helper
// every echo point uses. Safe for concurrent use; it never allocates when s fits.
func Clip(s string) string { return ClipTo(s, MaxEcho) }

// ClipTo is Clip with a limit of n bytes (n < 16 is treated as 16).
func ClipTo(s string, n int) string {
	n = max(n, 16)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "...(" + strconv.Itoa(len(s)-cut) + " more bytes)"
}
