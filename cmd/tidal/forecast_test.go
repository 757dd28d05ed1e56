package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeSeries writes a timestamp,value CSV of a daily cycle at 10-minute steps with a two-hour
// block of zeros (a collection gap) on day 3, and returns its path.
func writeSeries(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for i := range 5 * 144 {
		v := 100 + 50*math.Sin(2*math.Pi*float64(i)/144)
		if i >= 3*144 && i < 3*144+12 {
			v = 0
		}
		fmt.Fprintf(&b, "%d,%g\n", 600*i, v)
	}
	p := filepath.Join(t.TempDir(), "series.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunForecast(t *testing.T) {
	series := writeSeries(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string
		stderr   string
		noStdout bool
	}{
		{"help", []string{"--help"}, 0, nil, "Examples:", true},
		{"all methods", []string{"--horizon", "3", series}, 0,
			[]string{"last-ratio", "seasonal-naive", "holt-winters", "kalman", "auto", "12 points missing or in collection gaps"}, "", false},
		{"bad horizon", []string{"--horizon", "0", series}, 2, nil, "--horizon 0", true},
		{"bad method", []string{"--method", "prophet", series}, 2, nil, `--method "prophet"`, true},
		{"out needs one method", []string{"--out", "x.csv", series}, 2, nil, "--out needs a single --method", true},
		{"missing file", []string{"--format", "azure", "nope.csv"}, 1, nil, "nope.csv", true},
		{"bad format", []string{"--format", "parquet", series}, 1, nil, "--format", true},
		{"no path", []string{}, 2, nil, "exactly one PATH", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runForecast(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr.String())
			}
			if tc.noStdout && stdout.Len() > 0 {
				t.Errorf("unexpected stdout:\n%s", stdout.String())
			}
		})
	}
}

// TestForecastOut checks the --out file: header, one row per target, empty actual in the gap.
func TestForecastOut(t *testing.T) {
	series := writeSeries(t)
	out := filepath.Join(t.TempDir(), "out.csv")
	var stdout, stderr bytes.Buffer
	if code := runForecast(context.Background(), []string{"--method", "ar", "--horizon", "2", "--out", out, series}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"timestamp", "actual", "predicted", "lower", "upper"}, rows[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if got, want := len(rows)-1, 5*144-2; got != want {
		t.Errorf("%d rows, want %d (one per target from the horizon on)", got, want)
	}
	if rows[1][0] != "1200" {
		t.Errorf("first target timestamp %q, want 1200 (two 600 s steps in)", rows[1][0])
	}
	empty := 0
	for _, r := range rows[1:] {
		if r[1] == "" {
			empty++
		}
	}
	if empty != 12 {
		t.Errorf("%d rows with an empty actual, want the 12 gap points", empty)
	}
}

// TestForecastAzureTrace runs the command on a sample of the real Azure trace (every 200th row,
// testdata/workload/README.md), which spans 58 one-minute buckets like the whole trace.
func TestForecastAzureTrace(t *testing.T) {
	path := filepath.Join(repoRoot, "testdata", "workload", "azure_code_every200.csv")
	var stdout, stderr bytes.Buffer
	if code := runForecast(context.Background(), []string{"--format", "azure", "--interval", "1m", "--method", "auto", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "58 points of 1m0s") {
		t.Errorf("want the 58 one-minute buckets of the trace:\n%s", stdout.String())
	}
}
