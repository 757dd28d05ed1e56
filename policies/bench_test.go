package policies

import (
	"os"
	"testing"
	"time"
)

// BenchmarkParse measures decoding, defaulting, validating and compiling the largest example.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("examples/scheduled-peak.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, "scheduled-peak.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBoundsAt measures what the planner pays per service per decision with three schedules.
func BenchmarkBoundsAt(b *testing.B) {
	p, err := LoadFile("examples/scheduled-peak.yaml")
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 6, 3, 9, 0, 0, 0, time.UTC) // a Wednesday, morning-prewarm active
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := p.BoundsAt("VllmDecodeWorker", at); !ok {
			b.Fatal("service not found")
		}
	}
}

// BenchmarkActiveAt compares ActiveAt's backward scan with the robfig-Next method it replaced,
// per schedule of the scheduled-peak example, on a weekday morning.
func BenchmarkActiveAt(b *testing.B) {
	p, err := LoadFile("examples/scheduled-peak.yaml")
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 6, 3, 9, 0, 0, 0, time.UTC)
	for _, s := range p.Schedules() {
		b.Run(s.Name+"/scan", func(b *testing.B) {
			for b.Loop() {
				s.ActiveAt(at)
			}
		})
		b.Run(s.Name+"/next", func(b *testing.B) {
			for b.Loop() {
				activeByNext(s.cron, s.Location, at, s.Duration)
			}
		})
	}
}
