package kubetest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Environment variables that override where the binaries are found.
const (
	// APIServerEnv names a kube-apiserver binary to use instead of the cached build.
	APIServerEnv = "TIDAL_KUBE_APISERVER"
	// EtcdEnv names an etcd binary to use instead of /usr/bin/etcd or etcd on PATH.
	EtcdEnv = "TIDAL_ETCD"
	// CacheEnv overrides the cache folder .ci/build-kube-apiserver writes to ($HOME/.cache/tidal).
	CacheEnv = "TIDAL_CACHE"
	// SkipEnv, set to 1, makes Main skip the integration tests instead of failing when a binary
	// is missing. CI never sets it.
	SkipEnv = "TIDAL_SKIP_KUBE"
)

// KubeVersion is the kube-apiserver release the harness expects in the cache; it matches the
// client-go release in go.mod (v0.37.2) and .ci/build-kube-apiserver's default.
const KubeVersion = "v1.37.2"

// DefaultEtcd is where Debian's etcd-server package installs etcd.
const DefaultEtcd = "/usr/bin/etcd"

// ErrNotInstalled is returned (wrapped, with the path looked at) when a binary is missing.
var ErrNotInstalled = errors.New("binary not installed")

// APIServerPath returns the kube-apiserver binary: $TIDAL_KUBE_APISERVER if set, else the cached
// build at $TIDAL_CACHE (default $HOME/.cache/tidal)/kube-apiserver-<KubeVersion>.
func APIServerPath() (string, error) {
	if p := os.Getenv(APIServerEnv); p != "" {
		return executable(p, "kube-apiserver (from $"+APIServerEnv+")")
	}
	cache := os.Getenv(CacheEnv)
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locating the kube-apiserver cache: %w", err)
		}
		cache = filepath.Join(home, ".cache", "tidal")
	}
	p := filepath.Join(cache, "kube-apiserver-"+KubeVersion)
	bin, err := executable(p, "kube-apiserver")
	if err != nil {
		return "", fmt.Errorf("%w (build it with `bash .ci/build-kube-apiserver`, or set $%s)", err, APIServerEnv)
	}
	return bin, nil
}

// EtcdPath returns the etcd binary: $TIDAL_ETCD if set, else /usr/bin/etcd, else etcd on PATH.
func EtcdPath() (string, error) {
	if p := os.Getenv(EtcdEnv); p != "" {
		return executable(p, "etcd (from $"+EtcdEnv+")")
	}
	if bin, err := executable(DefaultEtcd, "etcd"); err == nil {
		return bin, nil
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("etcd: %w at %s or on PATH (install Debian's etcd-server: `bash .ci/setup`, or set $%s)",
		ErrNotInstalled, DefaultEtcd, EtcdEnv)
}

// executable checks that path is an executable regular file.
func executable(path, what string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w at %s", what, ErrNotInstalled, path)
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s: %w: %s is not an executable file", what, ErrNotInstalled, path)
	}
	return path, nil
}
