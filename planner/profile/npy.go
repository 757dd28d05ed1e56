package profile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reads the NumPy .npy format (format spec: numpy/lib/format.py, "NEP 1"), strictly: only
// C-ordered, little-endian float64, float32, int64 and UTF-32 string ("<U<n>") arrays, which is
// all a Dynamo profile holds. Anything else is an error rather than a guess.

// maxElements bounds the arrays a profile may hold (profiles are a few hundred numbers).
const maxElements = 1 << 20

// Array is one decoded .npy array in C (row-major) order. Numbers holds numeric arrays converted to
// float64 (int64 values beyond 2^53 are rejected); Strings holds string arrays. Exactly one is set.
type Array struct {
	Shape   []int
	Numbers []float64
	Strings []string
}

// Len is the number of elements (the product of the shape).
func (a Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// npyHeader is the parsed header dictionary.
type npyHeader struct {
	descr   string
	fortran bool
	shape   []int
}

// ParseNPY decodes one .npy file.
func ParseNPY(b []byte) (Array, error) {
	h, body, err := splitNPY(b)
	if err != nil {
		return Array{}, err
	}
	if h.fortran {
		return Array{}, errors.New("npy: fortran_order arrays are not supported")
	}
	n := 1
	for _, d := range h.shape {
		if d < 0 || (d > 0 && n > maxElements/d) {
			return Array{}, fmt.Errorf("npy: shape %v too large (limit %d elements)", h.shape, maxElements)
		}
		n *= d
	}
	a := Array{Shape: h.shape}
	switch {
	case h.descr == "<f8" || h.descr == "<f4" || h.descr == "<i8":
		a.Numbers, err = decodeNumbers(h.descr, body, n)
	case strings.HasPrefix(h.descr, "<U"):
		a.Strings, err = decodeStrings(h.descr, body, n)
	default:
		err = fmt.Errorf("npy: unsupported dtype %q (want <f8, <f4, <i8 or <U<n>)", h.descr)
	}
	if err != nil {
		return Array{}, err
	}
	return a, nil
}

// splitNPY checks the magic and version and returns the parsed header and the data bytes.
func splitNPY(b []byte) (npyHeader, []byte, error) {
	const magic = "\x93NUMPY"
	if len(b) < 10 || string(b[:6]) != magic {
		return npyHeader{}, nil, errors.New("npy: missing \\x93NUMPY magic")
	}
	var hlen, off int
	switch b[6] {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return npyHeader{}, nil, errors.New("npy: truncated header")
		}
		hlen, off = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return npyHeader{}, nil, fmt.Errorf("npy: unsupported format version %d.%d", b[6], b[7])
	}
	if hlen > len(b)-off {
		return npyHeader{}, nil, fmt.Errorf("npy: header length %d exceeds file size %d", hlen, len(b))
	}
	h, err := parseHeader(string(b[off : off+hlen]))
	if err != nil {
		return npyHeader{}, nil, err
	}
	return h, b[off+hlen:], nil
}

func decodeNumbers(descr string, body []byte, n int) ([]float64, error) {
	size := 8
	if descr == "<f4" {
		size = 4
	}
	if len(body) != n*size {
		return nil, fmt.Errorf("npy: %s data is %d bytes, want %d", descr, len(body), n*size)
	}
	out := make([]float64, n)
	for i := range out {
		chunk := body[i*size : (i+1)*size]
		switch descr {
		case "<f8":
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(chunk))
		case "<f4":
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(chunk)))
		default:
			v := int64(binary.LittleEndian.Uint64(chunk))
			if v > 1<<53 || v < -(1<<53) {
				return nil, fmt.Errorf("npy: int64 value %d at index %d is not exact as float64", v, i)
			}
			out[i] = float64(v)
		}
	}
	return out, nil
}

func decodeStrings(descr string, body []byte, n int) ([]string, error) {
	width, err := strconv.Atoi(descr[2:])
	if err != nil || width <= 0 || width > 4096 {
		return nil, fmt.Errorf("npy: bad string dtype %q", descr)
	}
	if len(body) != n*width*4 {
		return nil, fmt.Errorf("npy: %s data is %d bytes, want %d", descr, len(body), n*width*4)
	}
	out := make([]string, n)
	var sb strings.Builder
	for i := range out {
		sb.Reset()
		for j := 0; j < width; j++ {
			off := (i*width + j) * 4
			r := rune(binary.LittleEndian.Uint32(body[off : off+4]))
			if r == 0 {
				break
			}
			if !utf8.ValidRune(r) {
				return nil, fmt.Errorf("npy: invalid code point %#x in string %d", r, i)
			}
			sb.WriteRune(r)
		}
		out[i] = sb.String()
	}
	return out, nil
}

// parseHeader reads the header, a Python dict literal such as
// {'descr': '<f8', 'fortran_order': False, 'shape': (3, 9), }, padded with spaces and a newline.
func parseHeader(s string) (npyHeader, error) {
	s = strings.TrimRight(s, " \n\x00")
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return npyHeader{}, fmt.Errorf("npy: header %q is not a dict", s)
	}
	var h npyHeader
	seen := map[string]bool{}
	p := &headerLexer{s: s[1 : len(s)-1]}
	for {
		p.space()
		if p.done() {
			break
		}
		key, err := p.quoted()
		if err != nil {
			return npyHeader{}, err
		}
		if err := p.expect(':'); err != nil {
			return npyHeader{}, err
		}
		if seen[key] {
			return npyHeader{}, fmt.Errorf("npy: header repeats key %q", key)
		}
		seen[key] = true
		if err := h.set(key, p); err != nil {
			return npyHeader{}, err
		}
		p.space()
		if !p.done() {
			if err := p.expect(','); err != nil {
				return npyHeader{}, err
			}
		}
	}
	if !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		return npyHeader{}, fmt.Errorf("npy: header %q lacks descr, fortran_order or shape", s)
	}
	return h, nil
}

func (h *npyHeader) set(key string, p *headerLexer) error {
	var err error
	switch key {
	case "descr":
		h.descr, err = p.quoted()
	case "fortran_order":
		h.fortran, err = p.boolean()
	case "shape":
		h.shape, err = p.tuple()
	default:
		err = fmt.Errorf("npy: unexpected header key %q", key)
	}
	return err
}

// headerLexer scans the inside of the header dict.
type headerLexer struct {
	s string
	i int
}

func (p *headerLexer) done() bool { return p.i >= len(p.s) }

func (p *headerLexer) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *headerLexer) expect(c byte) error {
	p.space()
	if p.done() || p.s[p.i] != c {
		return fmt.Errorf("npy: header: expected %q at offset %d of %q", c, p.i, p.s)
	}
	p.i++
	return nil
}

func (p *headerLexer) quoted() (string, error) {
	p.space()
	if p.done() || (p.s[p.i] != '\'' && p.s[p.i] != '"') {
		return "", fmt.Errorf("npy: header: expected a string at offset %d of %q", p.i, p.s)
	}
	q := p.s[p.i]
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", fmt.Errorf("npy: header: unterminated string in %q", p.s)
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, nil
}

func (p *headerLexer) boolean() (bool, error) {
	p.space()
	for _, w := range []struct {
		s string
		v bool
	}{{"True", true}, {"False", false}} {
		if strings.HasPrefix(p.s[p.i:], w.s) {
			p.i += len(w.s)
			return w.v, nil
		}
	}
	return false, fmt.Errorf("npy: header: expected True or False at offset %d of %q", p.i, p.s)
}

func (p *headerLexer) tuple() ([]int, error) {
	if err := p.expect('('); err != nil {
		return nil, err
	}
	end := strings.IndexByte(p.s[p.i:], ')')
	if end < 0 {
		return nil, fmt.Errorf("npy: header: unterminated shape in %q", p.s)
	}
	body := p.s[p.i : p.i+end]
	p.i += end + 1
	shape := []int{}
	for _, f := range bytes.Split([]byte(body), []byte(",")) {
		t := strings.TrimSpace(string(f))
		if t == "" {
			continue
		}
		d, err := strconv.Atoi(t)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("npy: header: bad shape dimension %q", t)
		}
		shape = append(shape, d)
	}
	return shape, nil
}
