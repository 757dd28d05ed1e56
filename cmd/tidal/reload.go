package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"k8s.io/utils/clock"

	"github.com/tidal-planner/tidal/policies"
)

// policyWatcher reloads the policies when the content under a path changes. It polls content
// hashes rather than watching inotify events: a ConfigMap volume updates by swapping its ..data
// symlink, which file-level watches miss, while a content hash sees every kind of update (edits,
// renames, added or removed files, symlink swaps) at the cost of reading a few small files.
type policyWatcher struct {
	path   string
	clock  clock.Clock
	every  time.Duration
	logger *slog.Logger
	// apply receives a new set that loaded cleanly; rejected is told about a bad one;
	// unreadable about each new problem reading the files (not again while it persists).
	apply      func([]policies.Policy)
	rejected   func(error)
	unreadable func(error)
	// healthy, if set, is told after every poll whether the files were readable and their
	// content is the running set (false while unreadable or while a rejected set is in place).
	healthy func(bool)
	last    [sha256.Size]byte
	// readErr is the last read problem reported ("" when the files were read); bad marks that
	// the content at last is a rejected set.
	readErr string
	bad     bool
}

// run polls until ctx ends. The first poll compares against the hash taken by init.
func (w *policyWatcher) run(ctx context.Context) {
	for {
		t := w.clock.NewTimer(w.every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		w.poll()
	}
}

// init records the hash of the content the running policies were loaded from.
func (w *policyWatcher) init() {
	if h, err := contentHash(w.path); err == nil {
		w.last = h
	}
}

// poll reloads when the content changed: a set that loads cleanly is applied, a bad one is
// logged with every problem and rejected, and the running set stays. An unchanged bad set is not
// reported again, nor is an unchanged read problem (an unreadable or emptied directory): each is
// logged and counted once, when it appears, and its end is logged too.
func (w *policyWatcher) poll() {
	h, err := contentHash(w.path)
	if err != nil {
		if msg := err.Error(); msg != w.readErr {
			w.readErr = msg
			w.logger.Warn("cannot read the policies to check for changes; keeping the running set until they are readable",
				"path", w.path, "err", err)
			if w.unreadable != nil {
				w.unreadable(err)
			}
		}
		w.report(false)
		return
	}
	if w.readErr != "" {
		w.readErr = ""
		w.logger.Info("the policies are readable again", "path", w.path)
	}
	if h == w.last {
		w.report(!w.bad)
		return
	}
	w.last = h
	w.bad = false
	ps, err := policies.Load(w.path)
	if err != nil {
		w.bad = true
		logProblems(w.logger, "rejected the changed policies; the last good set keeps running", err)
		w.rejected(err)
		w.report(false)
		return
	}
	defer w.report(true)
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	w.logger.Info("reloaded the policies", "path", w.path, "policies", names)
	w.apply(ps)
}

// report tells healthy, if set, how the last poll went.
func (w *policyWatcher) report(ok bool) {
	if w.healthy != nil {
		w.healthy(ok)
	}
}

// contentHash hashes the names and contents of the policy files under path (as policies.Files
// lists them, following symlinks).
func contentHash(path string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	files, err := policies.Files(path)
	if err != nil {
		return sum, err
	}
	h := sha256.New()
	for _, f := range files {
		if err := hashFile(h, f); err != nil {
			return sum, err
		}
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

func hashFile(h io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("reading policy %s: %w", name, err)
	}
	defer f.Close()
	fmt.Fprintf(h, "%s\x00", name)
	if _, err := io.Copy(h, io.LimitReader(f, policies.MaxFileSize+1)); err != nil {
		return fmt.Errorf("reading policy %s: %w", name, err)
	}
	_, err = h.Write([]byte{0})
	return err
}
