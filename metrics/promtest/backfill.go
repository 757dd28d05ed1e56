package promtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Backfill stops the server, writes the OpenMetrics text om (samples with explicit timestamps,
// ending in "# EOF") into its storage as TSDB blocks with promtool's create-blocks-from
// openmetrics, and starts it again, so tests can query a history they wrote sample by sample.
// promtool is looked up next to the prometheus binary, then on PATH. Timestamps must lie within
// the storage's retention (15 days by default) of now, or Prometheus drops the blocks.
func (s *Server) Backfill(ctx context.Context, om []byte) error {
	tool := filepath.Join(filepath.Dir(s.cfg.Binary), "promtool")
	if _, err := os.Stat(tool); err != nil {
		if tool, err = exec.LookPath("promtool"); err != nil {
			return fmt.Errorf("backfilling: promtool not found next to %s or on PATH: %w", s.cfg.Binary, err)
		}
	}
	if err := s.Stop(); err != nil {
		return err
	}
	in := filepath.Join(s.dir, "backfill.om")
	if err := os.WriteFile(in, om, 0o600); err != nil {
		return fmt.Errorf("backfilling: %w", err)
	}
	out, err := exec.CommandContext(ctx, tool, "tsdb", "create-blocks-from", "openmetrics", in, filepath.Join(s.dir, "data")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("backfilling with %s: %w: %s", tool, err, out)
	}
	return s.Restart(ctx)
}
