package workload

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// azureLayout parses the Azure trace's wall-clock timestamps ("2023-11-16 18:17:03.9799600"); the
// fraction is optional and may have any number of digits.
const azureLayout = "2006-01-02 15:04:05.999999999"

// ReadAzure reads an Azure LLM inference trace (header TIMESTAMP,ContextTokens,GeneratedTokens).
// Arrivals are offsets from the earliest timestamp; rows keep file order. name labels errors.
func ReadAzure(r io.Reader, name string) ([]Request, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 3
	cr.ReuseRecord = true
	if err := azureHeader(cr, name); err != nil {
		return nil, err
	}
	var (
		reqs  []Request
		times []time.Time
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading azure trace %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		ts, req, err := azureRow(rec)
		if err != nil {
			return nil, lineError(name, line, "%v", err)
		}
		times, reqs = append(times, ts), append(reqs, req)
	}
	setOffsets(reqs, times)
	return reqs, nil
}

// azureHeader reads and checks the header row.
func azureHeader(cr *csv.Reader, name string) error {
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("reading azure trace %s header: %w", name, err)
	}
	want := []string{"TIMESTAMP", "ContextTokens", "GeneratedTokens"}
	for i, h := range header {
		if strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) != want[i] {
			return lineError(name, 1, "header %q, want %q", strings.Join(header, ","), strings.Join(want, ","))
		}
	}
	return nil
}

// azureRow parses one data row (arrival left for setOffsets).
func azureRow(rec []string) (time.Time, Request, error) {
	ts, err := time.Parse(azureLayout, strings.TrimSpace(rec[0]))
	if err != nil {
		return ts, Request{}, fmt.Errorf("TIMESTAMP %q: %v", rec[0], err)
	}
	in, err1 := tokens(rec[1])
	out, err2 := tokens(rec[2])
	if err := errors.Join(err1, err2); err != nil {
		return ts, Request{}, fmt.Errorf("token counts: %v", err)
	}
	return ts, Request{InputTokens: in, OutputTokens: out}, nil
}

// setOffsets sets each request's arrival to its time minus the earliest time.
func setOffsets(reqs []Request, times []time.Time) {
	if len(times) == 0 {
		return
	}
	first := times[0]
	for _, t := range times {
		if t.Before(first) {
			first = t
		}
	}
	for i, t := range times {
		reqs[i].Arrival = t.Sub(first)
	}
}

// tokens parses a non-negative token count.
func tokens(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	if n < 0 {
		return 0, fmt.Errorf("%d is negative", n)
	}
	return n, nil
}

// mooncakeRow is one JSONL line of a Mooncake trace; hash_ids is accepted and ignored.
type mooncakeRow struct {
	Timestamp    *float64 `json:"timestamp"`
	InputLength  *int     `json:"input_length"`
	OutputLength *int     `json:"output_length"`
}

// ReadMooncake reads a Mooncake trace: one JSON object per line with timestamp (ms from the trace
// start), input_length and output_length; other fields (hash_ids) are ignored and blank lines are
// skipped. name labels errors.
func ReadMooncake(r io.Reader, name string) ([]Request, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	var reqs []Request
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		req, err := mooncakeRequest(b)
		if err != nil {
			return nil, lineError(name, line, "%v", err)
		}
		reqs = append(reqs, req)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading mooncake trace %s: %w", name, err)
	}
	return reqs, nil
}

// mooncakeRequest decodes and checks one line.
func mooncakeRequest(b []byte) (Request, error) {
	var row mooncakeRow
	if err := json.Unmarshal(b, &row); err != nil {
		return Request{}, err
	}
	switch {
	case row.Timestamp == nil || row.InputLength == nil || row.OutputLength == nil:
		return Request{}, errors.New("missing timestamp, input_length or output_length")
	case !finite(*row.Timestamp) || *row.Timestamp < 0:
		return Request{}, fmt.Errorf("timestamp %v is not a non-negative number", *row.Timestamp)
	case *row.InputLength < 0 || *row.OutputLength < 0:
		return Request{}, fmt.Errorf("negative length (input %d, output %d)", *row.InputLength, *row.OutputLength)
	}
	ms := math.Round(*row.Timestamp * float64(time.Millisecond))
	return Request{Arrival: time.Duration(ms), InputTokens: *row.InputLength, OutputTokens: *row.OutputLength}, nil
}
