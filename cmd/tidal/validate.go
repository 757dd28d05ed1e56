package main

import (
	"context"
	"fmt"
	"io"
)

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "tidal validate: being written")
	return 1
}
