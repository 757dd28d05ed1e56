package profile

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// maxMemberBytes bounds one decompressed .npy member of an .npz archive (profiles are a few KB).
const maxMemberBytes = 16 << 20

// ParseNPZ decodes an .npz archive (a zip of .npy files, stored or deflated) into its arrays,
// keyed by member name without the ".npy" suffix.
func ParseNPZ(b []byte) (map[string]Array, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("npz: opening zip: %w", err)
	}
	out := make(map[string]Array, len(zr.File))
	for _, f := range zr.File {
		name, ok := strings.CutSuffix(f.Name, ".npy")
		if !ok || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("npz: unexpected member %q (want <name>.npy)", f.Name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("npz: duplicate member %q", f.Name)
		}
		data, err := readMember(f)
		if err != nil {
			return nil, err
		}
		a, err := ParseNPY(data)
		if err != nil {
			return nil, fmt.Errorf("npz member %s: %w", f.Name, err)
		}
		out[name] = a
	}
	return out, nil
}

func readMember(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("npz: opening member %s: %w", f.Name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxMemberBytes+1))
	if err != nil {
		return nil, fmt.Errorf("npz: reading member %s: %w", f.Name, err)
	}
	if len(data) > maxMemberBytes {
		return nil, fmt.Errorf("npz: member %s exceeds %d bytes", f.Name, maxMemberBytes)
	}
	return data, nil
}
