package main

import (
	"os"
	"testing"
)

// runMainEnv, set to 1 in a child's environment, makes this test binary run tidal's main instead
// of the tests: the split-brain test starts real tidal processes this way (os.Args[1:] are
// tidal's arguments), so it can pause and kill them with signals without building another binary.
const runMainEnv = "TIDAL_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}
