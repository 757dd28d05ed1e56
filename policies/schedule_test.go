package policies

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/robfig/cron/v3"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := loadZone(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func testSchedule(t *testing.T, expr, zone string, d time.Duration) Schedule {
	t.Helper()
	c, err := parseCron(expr)
	if err != nil {
		t.Fatal(err)
	}
	return Schedule{Name: expr, Cron: expr, Location: mustZone(t, zone), Duration: d, cron: c}
}

func TestScheduleActiveAt(t *testing.T) {
	ny := "America/New_York"
	at := func(zone string, y int, mo time.Month, d, h, mi int) time.Time {
		return time.Date(y, mo, d, h, mi, 0, 0, mustZone(t, zone))
	}
	tests := []struct {
		name     string
		cron     string
		zone     string
		duration time.Duration
		t        time.Time
		want     bool
	}{
		{"every minute, window of one minute, on a firing", "* * * * *", "UTC", time.Minute, at("UTC", 2026, 1, 5, 10, 5), true},
		{"every minute, window of one minute, between firings", "* * * * *", "UTC", time.Minute, at("UTC", 2026, 1, 5, 10, 5).Add(59 * time.Second), true},
		{"every 10 minutes, 1m window, just after it closes", "*/10 * * * *", "UTC", time.Minute, at("UTC", 2026, 1, 5, 10, 1), false},
		{"every 10 minutes, 15m window, overlapping windows", "*/10 * * * *", "UTC", 15 * time.Minute, at("UTC", 2026, 1, 5, 10, 14), true},
		{"daily 08:00 Paris, at 08:00", "0 8 * * *", "Europe/Paris", 2 * time.Hour, at("Europe/Paris", 2026, 6, 1, 8, 0), true},
		{"daily 08:00 Paris, at 09:59", "0 8 * * *", "Europe/Paris", 2 * time.Hour, at("Europe/Paris", 2026, 6, 1, 9, 59), true},
		{"daily 08:00 Paris, at 10:00 (window end is exclusive)", "0 8 * * *", "Europe/Paris", 2 * time.Hour, at("Europe/Paris", 2026, 6, 1, 10, 0), false},
		{"daily 08:00 Paris, at 07:59", "0 8 * * *", "Europe/Paris", 2 * time.Hour, at("Europe/Paris", 2026, 6, 1, 7, 59), false},
		{"daily 08:00 Paris, asked in UTC", "0 8 * * *", "Europe/Paris", 2 * time.Hour, at("UTC", 2026, 6, 1, 6, 30), true},
		{"daily 08:00 Tokyo, asked in UTC the day before", "0 8 * * *", "Asia/Tokyo", time.Hour, at("UTC", 2026, 6, 1, 23, 30), true},
		{"weekdays only, on a Saturday", "0 8 * * 1-5", "UTC", 2 * time.Hour, at("UTC", 2026, 6, 6, 9, 0), false},
		{"weekdays only, on a Friday", "0 8 * * 1-5", "UTC", 2 * time.Hour, at("UTC", 2026, 6, 5, 9, 0), true},
		{"window across midnight", "0 22 * * *", "UTC", 8 * time.Hour, at("UTC", 2026, 6, 6, 5, 59), true},
		{"window longer than the period is always active", "@hourly", "UTC", 2 * time.Hour, at("UTC", 2026, 6, 6, 5, 17), true},
		{"@daily at 23:59", "@daily", "UTC", 24 * time.Hour, at("UTC", 2026, 6, 6, 23, 59), true},
		{"never firing (30 February)", "0 0 30 2 *", "UTC", 24 * time.Hour, at("UTC", 2026, 3, 1, 0, 0), false},
		{"spring forward: window is elapsed time", "0 0 * * *", ny, 4 * time.Hour, at(ny, 2026, 3, 8, 4, 30), true},
		{"spring forward: closes after 4 elapsed hours", "0 0 * * *", ny, 4 * time.Hour, at(ny, 2026, 3, 8, 5, 0), false},
		{"spring forward: 02:30 does not exist and does not fire", "30 2 * * *", ny, time.Hour, at(ny, 2026, 3, 8, 3, 15), false},
		{"fall back: 01:30 EDT fires", "30 1 * * *", ny, 30 * time.Minute, time.Date(2026, 11, 1, 5, 45, 0, 0, time.UTC), true},
		{"fall back: 01:30 EST fires again", "30 1 * * *", ny, 30 * time.Minute, time.Date(2026, 11, 1, 6, 45, 0, 0, time.UTC), true},
		{"fall back: between the two 01:30s", "30 1 * * *", ny, 30 * time.Minute, time.Date(2026, 11, 1, 6, 15, 0, 0, time.UTC), false},
		{"fall back: window is elapsed time", "0 0 * * *", ny, 4 * time.Hour, at(ny, 2026, 11, 1, 2, 59), true},
		{"fall back: closes after 4 elapsed hours (03:00 EST)", "0 0 * * *", ny, 4 * time.Hour, at(ny, 2026, 11, 1, 3, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSchedule(t, tt.cron, tt.zone, tt.duration)
			if got := s.ActiveAt(tt.t); got != tt.want {
				t.Errorf("ActiveAt(%s) = %v, want %v", tt.t, got, tt.want)
			}
		})
	}
}

// oracleActive enumerates every whole minute in (t-d, t] and asks whether the cron fields match
// its wall-clock time in loc: an implementation independent of cron's Next.
func oracleActive(spec *cron.SpecSchedule, loc *time.Location, d time.Duration, t time.Time) bool {
	const star = 1 << 63
	first := t.Add(-d).Truncate(time.Minute).Add(time.Minute)
	for m := first; !m.After(t); m = m.Add(time.Minute) {
		w := m.In(loc)
		dom := spec.Dom&(1<<uint(w.Day())) != 0
		dow := spec.Dow&(1<<uint(w.Weekday())) != 0
		day := dom || dow
		if spec.Dom&star != 0 || spec.Dow&star != 0 {
			day = dom && dow
		}
		if spec.Minute&(1<<uint(w.Minute())) != 0 && spec.Hour&(1<<uint(w.Hour())) != 0 &&
			spec.Month&(1<<uint(w.Month())) != 0 && day {
			return true
		}
	}
	return false
}

func TestScheduleActiveAtMatchesOracle(t *testing.T) {
	crons := []string{"*/7 * * * *", "0 8 * * 1-5", "30 1 * * *", "0 2 * * 0", "15 */3 1,15 * *", "@daily", "59 23 * * *"}
	zones := []string{"UTC", "America/New_York", "Europe/Paris", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"}
	durations := []time.Duration{time.Minute, 7 * time.Minute, 90 * time.Minute, 5 * time.Hour}
	rng := rand.New(rand.NewPCG(1, 2))
	// Instants spread over a year and clustered around the 2026 DST changes.
	base := []time.Time{time.Date(2026, 3, 8, 6, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 4, 15, 0, 0, 0, time.UTC),
		time.Date(2026, 10, 3, 15, 30, 0, 0, time.UTC), time.Date(2026, 4, 5, 3, 0, 0, 0, time.UTC),
		time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC)}
	// Changes: US 8 Mar/1 Nov, EU 29 Mar, Lord Howe (30 min) 5 Apr/4 Oct, Santiago (at midnight) 5 Apr/6 Sep.
	for _, expr := range crons {
		for _, zone := range zones {
			for _, d := range durations {
				s := testSchedule(t, expr, zone, d)
				spec := s.cron.(*cron.SpecSchedule)
				for range 80 {
					at := base[rng.IntN(len(base))].Add(time.Duration(rng.Int64N(int64(48*time.Hour))) - 24*time.Hour)
					if rng.IntN(4) == 0 {
						at = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
					}
					at = at.Truncate(time.Second)
					if got, want := s.ActiveAt(at), oracleActive(spec, s.Location, d, at); got != want {
						t.Errorf("%q in %s for %s at %s: ActiveAt = %v, oracle = %v", expr, zone, d, at.In(s.Location), got, want)
					}
				}
			}
		}
	}
}

func TestPolicyBoundsAt(t *testing.T) {
	d := validDoc()
	d.Spec.Schedules = append(d.Spec.Schedules,
		ScheduleSpec{Name: "night", Cron: "0 0 * * *", Duration: Duration{7 * time.Hour}, // until 09:00 Paris in summer
			Services: map[string]OverrideSpec{"Prefill": {MaxReplicas: ptr[int32](2)}, "Decode": {MaxReplicas: ptr[int32](3)}}},
	)
	p, err := New(d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	paris := mustZone(t, "Europe/Paris")
	tests := []struct {
		name    string
		service string
		t       time.Time
		want    Bounds
		wantOK  bool
	}{
		{"no schedule active", "Prefill", time.Date(2026, 6, 1, 12, 0, 0, 0, paris), Bounds{Min: 1, Max: 4}, true},
		{"night ceiling", "Decode", time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC), Bounds{Min: 2, Max: 3, Schedules: []string{"night"}}, true},
		{"peak floor", "Prefill", time.Date(2026, 6, 1, 9, 30, 0, 0, paris), Bounds{Min: 3, Max: 4, Schedules: []string{"peak"}}, true},
		{"peak floor beats night ceiling", "Prefill", time.Date(2026, 6, 1, 8, 30, 0, 0, paris),
			Bounds{Min: 3, Max: 3, Schedules: []string{"peak", "night"}}, true},
		{"service without override", "Frontend", time.Date(2026, 6, 1, 8, 30, 0, 0, paris), Bounds{Min: 1, Max: 2}, true},
		{"unknown service", "Nope", time.Date(2026, 6, 1, 8, 30, 0, 0, paris), Bounds{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := p.BoundsAt(tt.service, tt.t)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("BoundsAt (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScanBackAgreesWithNext compares the backward scan with the robfig-Next method on random
// instants, zones and durations, including windows long enough to make the scan give up.
func TestScanBackAgreesWithNext(t *testing.T) {
	crons := []string{"* * * * *", "*/7 * * * *", "0 8 * * 1-5", "30 1 * * *", "30 2 * * *", "0 0 1 1 *",
		"15 */3 1,15 * *", "@weekly", "59 23 28-31 * *", "0 12 * 2 1", "45 1,2 * 3,10,11 0"}
	zones := []string{"UTC", "America/New_York", "Europe/Paris", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago"}
	durations := []time.Duration{time.Minute, 61 * time.Minute, 26 * time.Hour, 40 * 24 * time.Hour, 400 * 24 * time.Hour}
	rng := rand.New(rand.NewPCG(3, 4))
	undecided := 0
	for _, expr := range crons {
		for _, zone := range zones {
			for _, d := range durations {
				s := testSchedule(t, expr, zone, d)
				for range 25 {
					at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
					scan, decided := scanBack(s.cron.(*cron.SpecSchedule), s.Location, at, at.Add(-d))
					if !decided {
						undecided++
						continue
					}
					if next := activeByNext(s.cron, s.Location, at, d); scan != next {
						t.Errorf("%q in %s for %s at %s: scan %v, Next %v", expr, zone, d, at.In(s.Location), scan, next)
					}
				}
			}
		}
	}
	if undecided == 0 {
		t.Error("no case exercised the fallback to Next")
	}
}
