package workload

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Window is one client's arrival process over one ServeGen window.
type Window struct {
	// Start is the window start, offset from t = 0 (local midnight of day 1).
	Start time.Duration
	// Rate is the mean arrival rate in the window, requests/s.
	Rate float64
	// CV is the coefficient of variation of the inter-arrival times.
	CV float64
	// Pattern is the fitted inter-arrival distribution ("Gamma" or "Weibull"), empty when idle.
	Pattern string
	// Shape and Scale are the distribution's parameters (Gamma: a, scale; Weibull: c, scale).
	Shape, Scale float64
}

// Client is one API client's windows, in file order.
type Client struct {
	// ID is taken from the file name chunk-<ID>-trace.csv.
	ID      string
	Windows []Window
}

// ServeGen is one ServeGen model directory: every client's windows.
type ServeGen struct {
	// Window is the window length (600 s in the published data), inferred from the timestamps.
	Window  time.Duration
	Clients []Client
}

// ReadServeGen reads every chunk-*-trace.csv in dir of fsys (use os.DirFS to read from disk),
// clients sorted by numeric ID where IDs are numbers. It fails when there is no such file.
func ReadServeGen(fsys fs.FS, dir string) (*ServeGen, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "chunk-*-trace.csv"))
	if err != nil {
		return nil, fmt.Errorf("listing servegen directory %s: %w", dir, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("reading servegen directory %s: no chunk-*-trace.csv files", dir)
	}
	sg := &ServeGen{}
	for _, name := range names {
		c, err := readClientFile(fsys, name)
		if err != nil {
			return nil, err
		}
		sg.Clients = append(sg.Clients, c)
	}
	sort.SliceStable(sg.Clients, func(i, j int) bool { return idLess(sg.Clients[i].ID, sg.Clients[j].ID) })
	sg.Window = inferWindow(sg.Clients)
	return sg, nil
}

func readClientFile(fsys fs.FS, name string) (Client, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return Client{}, fmt.Errorf("reading servegen client: %w", err)
	}
	defer f.Close()
	c, err := ReadServeGenClient(f, name)
	if err != nil {
		return Client{}, err
	}
	base := path.Base(name)
	c.ID = strings.TrimSuffix(strings.TrimPrefix(base, "chunk-"), "-trace.csv")
	return c, nil
}

// idLess orders numeric IDs numerically and others lexically after them.
func idLess(a, b string) bool {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	switch {
	case errA == nil && errB == nil:
		return x < y
	case errA == nil || errB == nil:
		return errA == nil
	}
	return a < b
}

// inferWindow returns the smallest positive gap between consecutive window starts, or 600 s.
func inferWindow(clients []Client) time.Duration {
	w := time.Duration(0)
	for _, c := range clients {
		for i := 1; i < len(c.Windows); i++ {
			if d := c.Windows[i].Start - c.Windows[i-1].Start; d > 0 && (w == 0 || d < w) {
				w = d
			}
		}
	}
	if w == 0 {
		return 600 * time.Second
	}
	return w
}

// ReadServeGenClient reads one client file (no header; timestamp, rate, cv, pattern, shape,
// scale). ID is left empty. name labels errors.
func ReadServeGenClient(r io.Reader, name string) (Client, error) {
	sc := bufio.NewScanner(r)
	var c Client
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		w, err := parseWindow(text)
		if err != nil {
			return Client{}, lineError(name, line, "%v", err)
		}
		c.Windows = append(c.Windows, w)
	}
	if err := sc.Err(); err != nil {
		return Client{}, fmt.Errorf("reading servegen client %s: %w", name, err)
	}
	return c, nil
}

// parseWindow parses "timestamp,rate,cv,pattern,shape,scale".
func parseWindow(text string) (Window, error) {
	f := strings.Split(text, ",")
	if len(f) != 6 {
		return Window{}, fmt.Errorf("%d fields, want 6 (timestamp,rate,cv,pattern,shape,scale)", len(f))
	}
	var nums [5]float64
	for i, idx := range []int{0, 1, 2, 4, 5} {
		v, err := strconv.ParseFloat(strings.TrimSpace(f[idx]), 64)
		if err != nil || !finite(v) {
			return Window{}, fmt.Errorf("field %d %q is not a finite number", idx+1, f[idx])
		}
		nums[i] = v
	}
	if nums[0] < 0 || nums[1] < 0 {
		return Window{}, errors.New("negative timestamp or rate")
	}
	return Window{
		Start:   time.Duration(math.Round(nums[0] * float64(time.Second))),
		Rate:    nums[1],
		CV:      nums[2],
		Pattern: strings.TrimSpace(f[3]),
		Shape:   nums[3],
		Scale:   nums[4],
	}, nil
}

// Aggregate returns the model's load: the sum of Rate over clients per window, from the earliest
// window start to the latest, one point per Window. A window no client reports is NaN (missing);
// a window every reporting client gives rate 0 is 0 (in the published data, multi-hour blocks of
// such zeros are collection gaps: see forecast.GapMask).
func (s *ServeGen) Aggregate() Series {
	if s == nil || s.Window <= 0 {
		return Series{}
	}
	first, last, found := time.Duration(0), time.Duration(0), false
	for _, c := range s.Clients {
		for _, w := range c.Windows {
			if !found || w.Start < first {
				first = w.Start
			}
			if !found || w.Start > last {
				last = w.Start
			}
			found = true
		}
	}
	if !found {
		return Series{Step: s.Window}
	}
	n := int((last-first)/s.Window) + 1
	vals := make([]float64, n)
	seen := make([]bool, n)
	for _, c := range s.Clients {
		for _, w := range c.Windows {
			i := int((w.Start - first) / s.Window)
			vals[i] += w.Rate
			seen[i] = true
		}
	}
	for i := range vals {
		if !seen[i] {
			vals[i] = math.NaN()
		}
	}
	return Series{Start: first, Step: s.Window, Values: vals}
}
