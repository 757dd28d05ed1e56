package profile

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// npy builds a version 1.0 .npy file around a header dict and raw data.
func npy(header string, data []byte) []byte {
	h := header + strings.Repeat(" ", (64-(10+len(header)+1)%64)%64) + "\n"
	b := []byte("\x93NUMPY\x01\x00")
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h)))
	return append(append(b, h...), data...)
}

func f8(vs ...float64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func TestParseNPY(t *testing.T) {
	i8 := binary.LittleEndian.AppendUint64(nil, uint64(945029))
	f4 := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5))
	u2 := []byte{'h', 0, 0, 0, 'i', 0, 0, 0, 'x', 0, 0, 0, 0, 0, 0, 0}
	tests := []struct {
		name    string
		in      []byte
		want    Array
		wantErr string
	}{
		{"f8 2-D", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }", f8(1, 2)),
			Array{Shape: []int{1, 2}, Numbers: []float64{1, 2}}, ""},
		{"i8 1-D", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", i8),
			Array{Shape: []int{1}, Numbers: []float64{945029}}, ""},
		{"f4 scalar", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f4),
			Array{Shape: []int{}, Numbers: []float64{1.5}}, ""},
		{"unicode", npy("{'descr': '<U2', 'fortran_order': False, 'shape': (2,), }", u2),
			Array{Shape: []int{2}, Strings: []string{"hi", "x"}}, ""},
		{"big endian", npy("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", f8(1)), Array{}, "unsupported dtype"},
		{"fortran", npy("{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }", f8(1)), Array{}, "fortran_order"},
		{"short data", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f8(1)), Array{}, "want 16"},
		{"missing key", npy("{'descr': '<f8', 'shape': (1,), }", f8(1)), Array{}, "lacks"},
		{"bad magic", []byte("NOTNUMPY.........."), Array{}, "magic"},
		{"huge header length", []byte("\x93NUMPY\x01\x00\xff\xff{}"), Array{}, "exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseNPY(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseNPZPairMissingArray(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("prefill_isl.npy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", f8(100))); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = ParseNPZPair(buf.Bytes(), buf.Bytes())
	if err == nil || !strings.Contains(err.Error(), "prefill_ttft is missing") {
		t.Fatalf("error = %v, want missing prefill_ttft", err)
	}
}

func FuzzParseNPY(f *testing.F) {
	f.Add(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }", f8(1, 2)))
	f.Add([]byte("\x93NUMPY\x02\x00\x04\x00\x00\x00{}  "))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseNPY(b)
		if err == nil && a.Len() != len(a.Numbers)+len(a.Strings) {
			t.Fatalf("shape %v holds %d elements but decoded %d", a.Shape, a.Len(), len(a.Numbers)+len(a.Strings))
		}
	})
}
