// Package keda proves tidal's KEDA external scaler against KEDA's own client code: KEDA
// v2.21.0's scalers.NewExternalScaler and NewExternalPushScaler, its ScalersCache, its fallback
// and its scale executor talk to a running tidal keda.Serve on loopback.
//
// It is a separate Go module because KEDA's pkg/scalers drags in ~730 modules that tidal itself
// must not link (DESIGN.md §1). Run it with `make test-keda` (part of `make test`), or
// `cd test/keda && go test ./...`; the load benchmark is `make bench-keda`.
package keda
