package main

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		name       string
		env        string
		files      map[string]string // path -> content; absent: does not exist
		readErr    error
		want       int64
		wantInNote string
	}{
		{name: "GOMEMLIMIT wins", env: "150MiB", files: map[string]string{cgroupV2MemoryMax: "1073741824\n"},
			want: 0, wantInNote: "GOMEMLIMIT=150MiB"},
		{name: "cgroup v2 limit", files: map[string]string{cgroupV2MemoryMax: "1073741824\n"},
			want: 966367641, wantInNote: "90% of the container's memory limit (1073741824 bytes, /sys/fs/cgroup/memory.max)"},
		{name: "cgroup v2 unlimited", files: map[string]string{cgroupV2MemoryMax: "max\n"},
			want: 0, wantInNote: "unlimited"},
		{name: "cgroup v1 limit", files: map[string]string{cgroupV1MemoryMax: "268435456\n"},
			want: 241591910, wantInNote: "memory.limit_in_bytes"},
		{name: "cgroup v1 unlimited", files: map[string]string{cgroupV1MemoryMax: "9223372036854771712\n"},
			want: 0, wantInNote: "unlimited"},
		{name: "no cgroup", want: 0, wantInNote: "no cgroup memory limit"},
		{name: "garbage", files: map[string]string{cgroupV2MemoryMax: "lots\n"},
			want: 0, wantInNote: `holds "lots"`},
		{name: "unreadable", readErr: errors.New("permission denied"),
			want: 0, wantInNote: "permission denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "GOMEMLIMIT" {
					return tc.env
				}
				return ""
			}
			readFile := func(path string) ([]byte, error) {
				if tc.readErr != nil {
					return nil, tc.readErr
				}
				s, ok := tc.files[path]
				if !ok {
					return nil, fs.ErrNotExist
				}
				return []byte(s), nil
			}
			got, note := memoryLimit(getenv, readFile)
			if got != tc.want || !strings.Contains(note, tc.wantInNote) {
				t.Errorf("memoryLimit = %d, %q; want %d and a note containing %q", got, note, tc.want, tc.wantInNote)
			}
		})
	}
}

func TestGCPercent(t *testing.T) {
	tests := []struct {
		name, env  string
		want       int
		wantInNote string
	}{
		{name: "default", want: defaultGCPercent, wantInNote: "tidal's default"},
		{name: "GOGC wins", env: "200", want: 0, wantInNote: "GOGC=200"},
		{name: "GOGC off wins", env: "off", want: 0, wantInNote: "GOGC=off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "GOGC" {
					return tc.env
				}
				return ""
			}
			got, note := gcPercent(getenv)
			if got != tc.want || !strings.Contains(note, tc.wantInNote) {
				t.Errorf("gcPercent = %d, %q; want %d and a note containing %q", got, note, tc.want, tc.wantInNote)
			}
		})
	}
}
