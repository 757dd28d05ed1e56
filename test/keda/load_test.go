package keda

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/kedacore/keda/v2/pkg/scalers"
	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tidal-planner/tidal/scaler/keda"
)

// Load benchmark settings (go test -bench Load -args -load.rate=5000 ...).
var (
	loadRate     = flag.Int("load.rate", 5000, "calls per second the load benchmarks offer")
	loadPairs    = flag.Int("load.pairs", 1000, "(policy, service) pairs, one KEDA scaler each")
	loadDuration = flag.Duration("load.duration", 10*time.Second, "measured time of a load run (after 1 s of warm-up); at most 60 s")
	loadProcs    = flag.Int("load.server-procs", 0, "GOMAXPROCS of the server process (0: the Go default, one per CPU)")
)

// serverEnv makes the test binary a tidal KEDA server process for the load benchmarks.
const serverEnv = "TIDAL_KEDA_LOAD_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) != "" {
		os.Exit(loadServer())
	}
	logf.SetLogger(logr.New(errorLogs))
	os.Exit(m.Run())
}

// loadServer serves --load.pairs fresh decisions on a loopback port: it prints the address,
// then answers every line on stdin with its CPU time so far (user+system, ns), and exits when
// stdin closes.
func loadServer() int {
	pairs, _ := strconv.Atoi(os.Getenv(serverEnv))
	d := newDecisions()
	for i := range pairs {
		d.decide(fmt.Sprintf("p%d/s%d", i, i), int32(i%7))
	}
	for k, v := range d.d {
		v.Interval = time.Hour
		d.d[k] = v
	}
	srv, err := keda.New(keda.Config{Decisions: d, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = keda.Serve(ctx, ln, srv) }()
	if path := os.Getenv("TIDAL_KEDA_LOAD_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	fmt.Println(ln.Addr().String())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Println(cpuNanos())
	}
	cancel()
	return 0
}

func cpuNanos() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// serverProcess is a tidal KEDA server in a child process, so its CPU can be told from the
// client's.
type serverProcess struct {
	addr  string
	stdin io.WriteCloser
	out   *bufio.Scanner
}

func startServerProcess(b *testing.B, pairs int) *serverProcess {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), serverEnv+"="+strconv.Itoa(pairs))
	if *loadProcs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(*loadProcs))
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	p := &serverProcess{stdin: stdin, out: bufio.NewScanner(stdout)}
	if !p.out.Scan() {
		b.Fatal("the server process printed no address")
	}
	p.addr = p.out.Text()
	return p
}

// cpu returns the server process's CPU time so far.
func (p *serverProcess) cpu(b *testing.B) time.Duration {
	if _, err := io.WriteString(p.stdin, "cpu\n"); err != nil {
		b.Fatal(err)
	}
	if !p.out.Scan() {
		b.Fatal("the server process did not report its CPU")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(p.out.Text()), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(n)
}

// loadResult is one load run's latencies and counts.
type loadResult struct {
	lat      []time.Duration
	errs     int64
	rpcs     int64 // RPCs the server answered
	elapsed  time.Duration
	serverCP time.Duration
	idleCP   time.Duration // the server's CPU over an idle second before the run
}

// runLoad offers rate calls per second for warm-up + duration from 64 workers on a fixed
// schedule (open loop), call(i) making the i-th call; latencies of the measured part are kept.
func runLoad(b *testing.B, p *serverProcess, rpcsPerCall int64, call func(i int) error) loadResult {
	b.Helper()
	rate, dur := *loadRate, min(*loadDuration, time.Minute)
	const warm, workers = time.Second, 64
	total, warmCalls := int(float64(rate)*(warm+dur).Seconds()), int(float64(rate)*warm.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, total)
	var errs atomic.Int64
	var wg sync.WaitGroup
	idle0 := p.cpu(b)
	time.Sleep(time.Second)
	idle := p.cpu(b) - idle0
	start := time.Now().Add(10 * time.Millisecond)
	var cpu0, cpu1 time.Duration
	var measured time.Time
	for w := range workers {
		wg.Go(func() {
			for i := w; i < total; i += workers {
				time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
				t0 := time.Now()
				if err := call(i); err != nil {
					errs.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	time.Sleep(time.Until(start.Add(warm)))
	cpu0, measured = p.cpu(b), time.Now()
	wg.Wait()
	cpu1 = p.cpu(b)
	n := int64(total - warmCalls)
	return loadResult{lat: lat[warmCalls:], errs: errs.Load(), rpcs: n * rpcsPerCall, elapsed: time.Since(measured), serverCP: cpu1 - cpu0, idleCP: idle}
}

// report prints the run's table row and reports its metrics.
func (r loadResult) report(b *testing.B, what string) {
	slices.Sort(r.lat)
	q := func(f float64) time.Duration { return r.lat[min(len(r.lat)-1, int(f*float64(len(r.lat))))] }
	perRPC := time.Duration(int64(r.serverCP) / max(r.rpcs, 1))
	idlePerSec := r.idleCP
	fmt.Printf("| %s | %d/s | %d | %d | %d | %v | %v | %v | %v | %.1f µs | %v/s |\n", what, *loadRate, *loadPairs, len(r.lat), r.errs,
		q(0.5).Round(time.Microsecond), q(0.99).Round(time.Microsecond), q(0.999).Round(time.Microsecond), r.lat[len(r.lat)-1].Round(time.Microsecond),
		float64(perRPC.Nanoseconds())/1000, idlePerSec.Round(time.Microsecond))
	b.ReportMetric(float64(q(0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(q(0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(q(0.999).Microseconds()), "p99.9-µs")
	b.ReportMetric(float64(perRPC.Nanoseconds())/1000, "server-cpu-µs/rpc")
	b.ReportMetric(float64(r.errs), "errors")
}

// BenchmarkLoad offers a fixed rate of calls over --load.pairs targets to a tidal KEDA server
// in a child process on loopback, and reports p50/p99/p99.9 latency and the server's CPU per
// RPC. Run it once (-benchtime=1x):
//
//	go test -run '^$' -bench Load -benchtime=1x -args -load.rate=5000 -load.duration=10s
//
// KEDA: KEDA's scalers.NewExternalScaler, one per pair over KEDA's pooled connection,
// calling GetMetricsAndActivity (GetMetrics then IsActive: 2 RPCs, the latency covers both).
// GetMetrics: one GetMetrics RPC per call over one connection with the generated client.
func BenchmarkLoad(b *testing.B) {
	if b.N > 1 {
		b.Skip("a load run is timed by -load.duration: use -benchtime=1x")
	}
	fmt.Println("| calls | rate | pairs | measured calls | errors | p50 | p99 | p99.9 | max | server CPU per RPC | server CPU idle |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	b.Run("KEDA", func(b *testing.B) {
		p := startServerProcess(b, *loadPairs)
		ss := make([]scalers.Scaler, *loadPairs)
		for i := range ss {
			ss[i] = trigger{Metadata: target(p.addr, fmt.Sprintf("p%d", i), fmt.Sprintf("s%d", i))}.newScaler(b)
		}
		names := make([]string, len(ss))
		for i := range names {
			names[i] = "s0-" + keda.MetricName(fmt.Sprintf("p%d", i), fmt.Sprintf("s%d", i))
		}
		ctx := context.Background()
		r := runLoad(b, p, 2, func(i int) error {
			_, _, err := ss[i%len(ss)].GetMetricsAndActivity(ctx, names[i%len(ss)])
			return err
		})
		r.report(b, "KEDA GetMetricsAndActivity (2 RPCs)")
	})
	b.Run("GetMetrics", func(b *testing.B) {
		p := startServerProcess(b, *loadPairs)
		conn, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		c := externalscaler.NewExternalScalerClient(conn)
		reqs := make([]*externalscaler.GetMetricsRequest, *loadPairs)
		for i := range reqs {
			reqs[i] = &externalscaler.GetMetricsRequest{ScaledObjectRef: &externalscaler.ScaledObjectRef{Name: "so", Namespace: "ns",
				ScalerMetadata: target(p.addr, fmt.Sprintf("p%d", i), fmt.Sprintf("s%d", i))}, MetricName: keda.MetricName(fmt.Sprintf("p%d", i), fmt.Sprintf("s%d", i))}
		}
		ctx := context.Background()
		r := runLoad(b, p, 1, func(i int) error {
			_, err := c.GetMetrics(ctx, reqs[i%len(reqs)])
			return err
		})
		r.report(b, "GetMetrics RPC")
	})
}
