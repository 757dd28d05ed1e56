//go:build linux

package main

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tidal-planner/tidal/scaler"
	"github.com/tidal-planner/tidal/scaler/kubetest"
	"github.com/tidal-planner/tidal/test/faultproxy"
)

// Lease timings of the split-brain test (client-go's ratios, shortened).
const (
	sbLease  = 3 * time.Second
	sbRenew  = 2 * time.Second
	sbRetry  = 500 * time.Millisecond
	sbTrials = 3 // in make test; TIDAL_SPLIT_BRAIN_TRIALS=20 for the measurement
)

// tidalProc is one real tidal process (this test binary running main) behind its own fault
// proxy, which records every /scale update it sends.
type tidalProc struct {
	id   string
	want int32 // the frontend count its policy decides at the base load
	cmd  *exec.Cmd
	puts *putLog
	ops  string // its ops address
	log  string // its log file
}

// startProc starts a tidal process with its own policy file, kubeconfig and proxy.
func (w *e2eWorld) startProc(t *testing.T, id, policy string, want int32) *tidalProc {
	t.Helper()
	dir := t.TempDir()
	// client-go sends no token to a plain-HTTP server named in a kubeconfig, so this proxy speaks
	// TLS with httptest's certificate (valid for 127.0.0.1), which the kubeconfig trusts.
	certSrv := httptest.NewTLSServer(http.NotFoundHandler())
	serverTLS, caPEM := certSrv.TLS.Clone(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certSrv.Certificate().Raw})
	certSrv.Close()
	direct := w.cluster.Config(kubetest.Tidal)
	rt, err := rest.TransportFor(&rest.Config{Host: direct.Host, TLSClientConfig: direct.TLSClientConfig})
	if err != nil {
		t.Fatal(err)
	}
	proxy := faultproxy.NewT(t, direct.Host, faultproxy.Options{Transport: rt, TLS: serverTLS})
	p := &tidalProc{id: id, want: want, puts: recordPuts(proxy), ops: freeAddr(t), log: filepath.Join(dir, "tidal.log")}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority-data: %q}}]
users: [{name: tidal, user: {token: %q}}]
contexts: [{name: test, context: {cluster: test, user: tidal}}]
current-context: test
`, proxy.URL(), base64.StdEncoding.EncodeToString(caPEM), direct.BearerToken)
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0], "run", "--policies", policy, "--kubeconfig", kubeconfig, "--listen", p.ops,
		"--leader-elect", "--lease-namespace", "tidal-system", "--identity", id,
		"--lease-duration", sbLease.String(), "--renew-deadline", sbRenew.String(), "--retry-period", sbRetry.String(),
		"--backfill=false", "--reload-interval", "0", "--log-level", "debug")
	p.cmd.Env = append(os.Environ(), runMainEnv+"=1")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
		}
		_ = logf.Close()
		if t.Failed() || os.Getenv("TIDAL_SPLIT_BRAIN_LOGS") == "1" {
			b, _ := os.ReadFile(p.log)
			t.Logf("%s log (last 60000 bytes):\n%s", id, tail(b, 60000))
		}
	})
	return p
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// steady waits until the process's /metrics says its last decision planned (did not hold) its
// own count of frontends: its data and its scale-down window are warm.
func (p *tidalProc) steady(t *testing.T, ns string, limit time.Duration) {
	t.Helper()
	labels := fmt.Sprintf(`{deployment=%q,namespace=%q,policy="e2e",service=%q}`, e2eDGD, ns, e2eFrontend)
	want := []string{"tidal_desired_replicas" + labels + " " + strconv.Itoa(int(p.want)), "tidal_held" + labels + " 0"}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + p.ops + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), "\n"+want[0]+"\n") && strings.Contains(string(b), "\n"+want[1]+"\n") {
				return
			}
		}
		<-time.After(200 * time.Millisecond) // polling a real process
	}
	t.Fatalf("%s did not decide %d planned frontends within %s", p.id, p.want, limit)
}

func (p *tidalProc) signal(t *testing.T, s syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		t.Fatalf("signalling %s with %v: %v", p.id, s, err)
	}
}

// holder returns the identity holding tidal's Lease ("" if none or unreadable).
func holder(ctx context.Context, kube kubernetes.Interface) string {
	l, err := kube.CoordinationV1().Leases("tidal-system").Get(ctx, "tidal", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// waitHolder waits until id holds the Lease and returns when that was seen.
func waitHolder(t *testing.T, kube kubernetes.Interface, id string, limit time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if holder(t.Context(), kube) == id {
			return time.Now()
		}
		<-time.After(50 * time.Millisecond) // polling the real Lease
	}
	t.Fatalf("%s did not take the Lease within %s", id, limit)
	return time.Time{}
}

// TestSplitBrain runs two real tidal processes (this binary running main) with leader election
// against the real kube-apiserver and Prometheus, and pauses the leader with SIGSTOP until the
// other has taken the Lease and written, then resumes it with SIGCONT: the resumed process must
// send no /scale update at all (it still believes it leads for up to the renew deadline; its lease
// is provably expired). The two policies differ on purpose (tidal-a keeps at least 3 frontends,
// tidal-b wants 2 at the base load), so a write by the wrong process is a wrong value on the
// adapter, not a harmless repeat. Each trial pauses whoever leads; the last one kills the leader
// with SIGKILL. TIDAL_SPLIT_BRAIN_TRIALS sets the number of pause trials (default 3).
func TestSplitBrain(t *testing.T) {
	trials := sbTrials
	if v := os.Getenv("TIDAL_SPLIT_BRAIN_TRIALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("TIDAL_SPLIT_BRAIN_TRIALS=%q: want a positive count", v)
		}
		trials = n
	}
	w := newE2EWorld(t)
	w.runOperator(t)
	kube, err := kubernetes.NewForConfig(w.cluster.Config(kubetest.Admin))
	if err != nil {
		t.Fatal(err)
	}
	// conflictBackoff 1ms: the competing-writer back-off would also stop a resumed leader (it sees
	// the new leader's write as another writer's), so it is made moot here to measure the lease
	// check alone.
	pathA := w.e2ePolicy(t.TempDir())
	replaceIn(t, pathA, "role: frontend, minReplicas: 1", "role: frontend, minReplicas: 3")
	pathB := w.e2ePolicy(t.TempDir())
	for _, p := range []string{pathA, pathB} {
		replaceIn(t, p, "startupTimeout: 30s", "startupTimeout: 30s, conflictBackoff: 1ms")
	}
	frontend := scaler.AdapterName(e2eDGD, e2eFrontend)

	a := w.startProc(t, "tidal-a", pathA, 3)
	waitHolder(t, kube, a.id, 60*time.Second)
	w.writes.waitFor(t, frontend, time.Time{}, 90*time.Second, func(n int32) bool { return n == 3 })
	b := w.startProc(t, "tidal-b", pathB, 2)
	a.steady(t, w.ns, 90*time.Second)
	b.steady(t, w.ns, 90*time.Second)

	holders := watchHolder(t, kube)
	procs := map[string]*tidalProc{a.id: a, b.id: b}
	var rows []faultRow
	overlapping := 0
	for i := range trials {
		leader := procs[holder(t.Context(), kube)]
		if leader == nil {
			t.Fatalf("trial %d: nobody holds the Lease", i)
		}
		follower := procs[otherID(leader.id)]
		paused := time.Now()
		leader.signal(t, syscall.SIGSTOP)
		took := waitHolder(t, kube, follower.id, 30*time.Second).Sub(paused)
		wrote := w.writes.waitFor(t, frontend, paused, 30*time.Second, func(n int32) bool { return n == follower.want })
		resumed := time.Now()
		leader.signal(t, syscall.SIGCONT)
		<-time.After(sbRenew + 2*e2eInterval) // the resumed process's window of belief, and two ticks
		// A write by the resumed process counts when the Lease named another holder throughout
		// the write's neighbourhood (the Lease is polled every 50 ms); a process that legitimately
		// acquires the Lease again may write.
		var bad []scalePut
		for _, p := range leader.puts.since(resumed) {
			if !holders.heldAround(leader.id, p.at, 150*time.Millisecond) {
				bad = append(bad, p)
			}
		}
		overlapping += len(bad)
		for _, p := range bad {
			t.Errorf("trial %d: %s sent a /scale update after SIGCONT while the Lease named another holder: %s=%d (status %d) at %s; holders %s",
				i, leader.id, p.adapter, p.replicas, p.status, p.at.Format("15:04:05.000"), holders.around(p.at))
		}
		outcome := fmt.Sprintf("%s took the Lease after %s and wrote %d", follower.id, took.Round(10*time.Millisecond), wrote.replicas)
		if again := leader.puts.since(resumed); len(again) > len(bad) {
			outcome += fmt.Sprintf("; %s acquired the Lease again and wrote", leader.id)
		}
		rows = append(rows, faultRow{fault: fmt.Sprintf("SIGSTOP %s, SIGCONT after takeover (trial %d)", leader.id, i+1),
			outcome: outcome, wrongWrites: len(bad), recovery: wrote.at.Sub(paused)})
	}
	leader := procs[holder(t.Context(), kube)]
	if leader == nil {
		t.Fatal("nobody holds the Lease")
	}
	follower := procs[otherID(leader.id)]
	killed := time.Now()
	leader.signal(t, syscall.SIGKILL)
	took := waitHolder(t, kube, follower.id, 30*time.Second).Sub(killed)
	wrote := w.writes.waitFor(t, frontend, killed, 30*time.Second, func(n int32) bool { return n == follower.want })
	rows = append(rows, faultRow{fault: "SIGKILL " + leader.id, outcome: fmt.Sprintf("%s took the Lease after %s and wrote %d",
		follower.id, took.Round(10*time.Millisecond), wrote.replicas), recovery: wrote.at.Sub(killed)})
	printFaultTable(t, fmt.Sprintf("leader faults (lease %s, renew deadline %s, retry %s, interval %s; recovery = fault to the new leader's write): %d writes by a process whose lease had expired over %d pause/resume trials",
		sbLease, sbRenew, sbRetry, e2eInterval, overlapping, trials), rows)
}

func otherID(id string) string {
	if id == "tidal-a" {
		return "tidal-b"
	}
	return "tidal-a"
}

// holderLog is the Lease's holder as polled every 50 ms.
type holderLog struct {
	mu      sync.Mutex
	samples []holderSample
}

type holderSample struct {
	at     time.Time
	holder string
}

// watchHolder polls the Lease's holder until the test ends.
func watchHolder(t *testing.T, kube kubernetes.Interface) *holderLog {
	l := &holderLog{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			h := holder(ctx, kube)
			l.mu.Lock()
			l.samples = append(l.samples, holderSample{at: time.Now(), holder: h})
			l.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond): // polling the real Lease
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

// heldAround reports whether some sample within slack of at names id.
func (l *holderLog) heldAround(id string, at time.Time, slack time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.samples {
		if s.holder == id && s.at.After(at.Add(-slack)) && s.at.Before(at.Add(slack)) {
			return true
		}
	}
	return false
}

// around renders the samples within a second of at.
func (l *holderLog) around(at time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, s := range l.samples {
		if s.at.After(at.Add(-time.Second)) && s.at.Before(at.Add(time.Second)) {
			fmt.Fprintf(&b, "%s=%s ", s.at.Format("05.000"), s.holder)
		}
	}
	return b.String()
}
