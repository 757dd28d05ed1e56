package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// examplesDir is the shipped examples, relative to this package.
var examplesDir = filepath.Join("..", "..", "policies", "examples")

func readExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(examplesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	agg := readExample(t, "aggregated.yaml")
	good := write("good.yaml", agg)
	typo := write("typo.yaml", strings.Replace(agg, "maxReplicas: 4", "maxReplica: 4", 1))
	typoLine := strconv.Itoa(1 + strings.Count(agg[:strings.Index(agg, "maxReplicas: 4")], "\n"))
	twin := write("twin.yaml", strings.Replace(agg, "name: qwen-agg", "name: qwen-agg-2", 1))
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"examples directory", []string{examplesDir}, 0,
			[]string{"aggregated.yaml: ok: policy qwen-agg -> llm/qwen-agg (aggregated); services: VllmDecodeWorker aggregated 1..4 scale; schedules: 0; mode: dry-run\n"}, nil},
		{"misspelt field", []string{good, typo}, 1, []string{"good.yaml: ok"},
			[]string{typo + ":" + typoLine + `: spec.services[0]: unknown field "maxReplica" (did you mean "maxReplicas"?)`, "1 of 2 policies are valid"}},
		{"two policies for one service", []string{good, twin}, 1, []string{"good.yaml: ok", "twin.yaml: ok"},
			[]string{twin + ": spec.services: service VllmDecodeWorker of DGD llm/qwen-agg is also planned by " + good,
				"each of the 2 policies is valid alone, but they conflict with each other"}},
		{"missing path", []string{filepath.Join(dir, "nope.yaml")}, 1, nil, []string{"no such file or directory"}},
		{"no arguments", nil, 2, nil, []string{"name at least one policy file or directory", "Usage:"}},
		{"unknown flag", []string{"--strict", good}, 2, nil, []string{"flag provided but not defined: -strict"}},
		{"help", []string{"--help"}, 0, []string{"Usage:", "Examples:", "tidal validate policies/examples"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runValidate(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, &stdout, &stderr)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout\n%s\ndoes not contain %q", &stdout, w)
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr\n%s\ndoes not contain %q", &stderr, w)
				}
			}
			if len(tt.wantStderr) == 0 && stderr.Len() > 0 {
				t.Errorf("unexpected stderr:\n%s", &stderr)
			}
		})
	}
}
