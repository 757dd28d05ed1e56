package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// repoRoot is the repository root, relative to this package.
var repoRoot = filepath.Join("..", "..")

// TestBuildStage runs the container image's build stage (.ci/build-binary, which the Dockerfile's
// build stage runs too) and checks what the image ships: a static binary with the version and
// commit stamped in, that works as a non-root user (65532, distroless's nonroot) from a
// read-only working directory. No container runtime is needed.
func TestBuildStage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	checkDockerfile(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "tidal")
	cmd := exec.CommandContext(t.Context(), "sh", filepath.Join(repoRoot, ".ci", "build-binary"))
	cmd.Env = append(os.Environ(), "OUT="+bin, "VERSION=v9.8.7-test", "COMMIT=0123abc")
	cmd.WaitDelay = time.Minute
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the build stage failed: %v\n%s", err, out)
	}
	checkStatic(t, bin)
	// A read-only working directory holding a policy, and a binary any user may run.
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(work, "policy.yaml")
	if err := os.WriteFile(policy, []byte(readExample(t, "aggregated.yaml")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{work, dir} {
		if err := os.Chmod(p, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = os.Chmod(work, 0o755); _ = os.Chmod(dir, 0o755) })
	openParents(t, dir)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"version is stamped", []string{"version"}, "tidal v9.8.7-test (go"},
		{"commit is stamped", []string{"--version"}, "revision 0123abc)"},
		{"validates a policy", []string{"validate", "policy.yaml"}, "policy.yaml: ok: policy qwen-agg"},
		{"teaches run", []string{"run", "--help"}, "--leader-elect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := runAsNonRoot(t, bin, work, tc.args...)
			if !strings.Contains(out, tc.want) {
				t.Errorf("tidal %s printed %q, want it to contain %q", strings.Join(tc.args, " "), out, tc.want)
			}
		})
	}
}

// checkDockerfile checks that the image builds with the tested script and runs as non-root on
// distroless (the parts of the Dockerfile this test stands for).
func checkDockerfile(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sh .ci/build-binary", "FROM gcr.io/distroless/static", "USER 65532:65532", "COPY --from=build"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
}

// checkStatic fails unless the binary is a statically linked ELF (no interpreter, no shared
// libraries): what distroless/static and scratch can run.
func checkStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("the binary is not ELF: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader (PT_INTERP): it is not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary links shared libraries %v (err %v)", libs, err)
	}
}

// openParents lets other users traverse every parent of dir (t.TempDir's are 0700).
func openParents(t *testing.T, dir string) {
	t.Helper()
	for p := filepath.Dir(dir); p != "/" && p != "."; p = filepath.Dir(p) {
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm()&0o001 == 0 {
			mode := info.Mode().Perm()
			if err := os.Chmod(p, mode|0o011); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(p, mode) })
		}
	}
}

// runAsNonRoot runs the binary in dir as uid/gid 65532 when the test runs as root, else as the
// (already non-root) current user, and returns its combined output; a failure fails t.
func runAsNonRoot(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=/nonexistent", "PATH=/usr/bin:/bin"}
	cmd.WaitDelay = 10 * time.Second
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tidal %s as a non-root user: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
