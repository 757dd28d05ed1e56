package profile

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoadSharedProfiles times Load on the real profiler files in ../shared/profiles (read in
// place; skipped when that folder is absent, as on a fresh clone) and fails if the real .npz
// encodings of the H200 8B profile disagree with the embedded JSON copy. The tests cover the same
// layouts with files generated from the embedded profile.
func BenchmarkLoadSharedProfiles(b *testing.B) {
	root := filepath.Join("..", "..", "..", "shared", "profiles")
	if _, err := os.Stat(root); err != nil {
		b.Skipf("shared profiles not found at %s: %v", root, err)
	}
	ref, err := Load(embeddedDir)
	if err != nil {
		b.Fatal(err)
	}
	for _, dir := range []string{
		"H200_TP1P_TP1D", "pre_swept_results/h200_sxm/vllm/nvidia/Llama-3.1-8B-Instruct-FP8",
		"pre_swept_results/h100_sxm/vllm/nvidia/Llama-3.3-70B-Instruct-FP8",
	} {
		b.Run(filepath.Base(dir), func(b *testing.B) {
			var ps []Profile
			for b.Loop() {
				if ps, err = Load(filepath.Join(root, dir)); err != nil {
					b.Fatal(err)
				}
			}
			if ps[0].Config.GPUs == 1 && !sameWithin(sample(ref[0]), sample(ps[0]), 0) {
				b.Errorf("%s: curves %v differ from the embedded profile's %v", dir, sample(ps[0]), sample(ref[0]))
			}
		})
	}
}
