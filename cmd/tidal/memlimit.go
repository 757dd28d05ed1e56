package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// defaultGCPercent is the garbage collector's target (GOGC) tidal run sets when GOGC is unset:
// the heap may grow to 1.75x what is live before a collection, not the Go default's 2x.
// Prometheus made the same change in v2.53.0 (prometheus/prometheus#14176), having found the
// extra collections cost little CPU. tidal's loop is idle most of the time (500 policies at 15 s
// use about 0.1% of a core, README), so the collections are cheap and the peak resident set
// falls: 500 warm policies 187 -> 172 MB at peak in BenchmarkLoop500Policies (docs/run.md).
const defaultGCPercent = 75

// gcPercent returns the GC target tidal run sets (0: leave the runtime's) and a note for the
// start-up log. GOGC, when set, wins: the runtime has applied it already.
func gcPercent(getenv func(string) string) (int, string) {
	if v := getenv("GOGC"); v != "" {
		return 0, fmt.Sprintf("GOGC=%s set by the environment", v)
	}
	return defaultGCPercent, "tidal's default; set GOGC to override"
}

// memoryLimitRatio is the share of the container's memory limit that tidal run gives the Go
// runtime as its soft memory limit (runtime/debug.SetMemoryLimit) when GOMEMLIMIT is unset. 90%
// is the usual choice (KimMachineGun/automemlimit's default ratio, 0.9): the rest covers what the
// soft limit does not count, the binary's mapped pages above all. Go 1.26 sets GOMAXPROCS from
// the cgroup's CPU limit but has no such default for memory (golang/go#75164, a proposal).
const memoryLimitRatio = 0.9

// Where a container's memory limit is read: cgroup v2's memory.max ("max" when unlimited), else
// cgroup v1's memory.limit_in_bytes (a number near 2^63 when unlimited). Inside a container both
// are the container's own cgroup.
const (
	cgroupV2MemoryMax = "/sys/fs/cgroup/memory.max"
	cgroupV1MemoryMax = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
)

// unlimitedCgroupMemory is the smallest cgroup v1 limit read as "no limit" (v1 reports
// unlimited as the largest page-aligned int64, 9223372036854771712).
const unlimitedCgroupMemory = 1 << 62

// memoryLimit returns the soft memory limit tidal run sets (0: none) and a note for the
// start-up log saying where it came from or why there is none. GOMEMLIMIT, when set, wins: the
// runtime has applied it already. Otherwise it is memoryLimitRatio of the container's cgroup
// memory limit, if there is one.
func memoryLimit(getenv func(string) string, readFile func(string) ([]byte, error)) (int64, string) {
	if v := getenv("GOMEMLIMIT"); v != "" {
		return 0, fmt.Sprintf("GOMEMLIMIT=%s set by the environment", v)
	}
	for _, path := range []string{cgroupV2MemoryMax, cgroupV1MemoryMax} {
		data, err := readFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Sprintf("none: reading %s: %v", path, err)
		}
		s := strings.TrimSpace(string(data))
		if s == "max" {
			return 0, fmt.Sprintf("none: %s is unlimited", path)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Sprintf("none: %s holds %q, want a byte count or max", path, s)
		}
		if n >= unlimitedCgroupMemory {
			return 0, fmt.Sprintf("none: %s is unlimited", path)
		}
		limit := int64(float64(n) * memoryLimitRatio)
		return limit, fmt.Sprintf("%.0f%% of the container's memory limit (%d bytes, %s)", 100*memoryLimitRatio, n, path)
	}
	return 0, "none: no cgroup memory limit found"
}
