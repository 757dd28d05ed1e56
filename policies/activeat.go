package policies

import (
	"math/bits"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule activity is decided by scanning backwards from t for the latest firing, jumping over
// whole days, hours and minutes that the cron fields rule out. It reads the fields robfig/cron
// compiled (bit sets per field) and follows robfig's day rule, so it fires exactly when robfig's
// Next would. Jumps assume wall time runs linearly, which holds when the zone offset is the same at
// both ends; across a DST change the scan steps one minute at a time instead. The scan gives up
// after maxScanSteps (very long windows over rare firings), and ActiveAt then asks robfig's Next.

const (
	starBit      = 1 << 63   // robfig marks a field written as "*" or "?" with this bit
	minuteBits   = 1<<60 - 1 // bits 0..59
	maxScanSteps = 2000      // a 2000-step scan covers about 80 days of non-matching days
)

// scanBack reports whether spec fires in (after, t] in loc. decided is false when the scan gave up.
func scanBack(spec *cron.SpecSchedule, loc *time.Location, t, after time.Time) (active, decided bool) {
	x := t
	for range maxScanSteps {
		if !x.After(after) {
			return false, true
		}
		// One zone lookup per step; the wall-clock fields then come from a UTC copy, which is fast.
		_, off := x.In(loc).Zone()
		w := x.Add(time.Duration(off) * time.Second).UTC()
		minuteStart := x.Add(-time.Duration(w.Second())*time.Second - time.Duration(w.Nanosecond()))
		var target time.Time
		switch {
		case !dayMatches(spec, w):
			target = minuteStart.Add(-time.Duration(w.Hour()*60+w.Minute()) * time.Minute) // 00:00
		case spec.Hour&(1<<uint(w.Hour())) == 0:
			target = earlierHour(spec, w, minuteStart)
		case spec.Minute&(1<<uint(w.Minute())) != 0:
			return minuteStart.After(after), true // fires at hh:mm:00
		default:
			earlier := spec.Minute & minuteBits & (1<<uint(w.Minute()) - 1)
			if earlier == 0 {
				target = earlierHour(spec, w, minuteStart)
			} else { // just after the latest earlier matching minute m
				m := bits.Len64(earlier) - 1
				target = minuteStart.Add(-time.Duration(w.Minute()-m-1) * time.Minute)
			}
		}
		x = stepBack(off, target, minuteStart, loc)
	}
	return false, false
}

// earlierHour returns the end of the latest matching hour of w's day before w's hour (so the scan
// resumes in its last minute), or the start of w's day when there is none. w holds wall-clock
// fields; minuteStart is the instant of w's minute.
func earlierHour(spec *cron.SpecSchedule, w, minuteStart time.Time) time.Time {
	hourStart := minuteStart.Add(-time.Duration(w.Minute()) * time.Minute)
	earlier := spec.Hour & (1<<uint(w.Hour()) - 1)
	if earlier == 0 {
		return hourStart.Add(-time.Duration(w.Hour()) * time.Hour)
	}
	h := bits.Len64(earlier) - 1
	return hourStart.Add(-time.Duration(w.Hour()-h-1) * time.Hour)
}

// stepBack returns the instant just before target if the zone offset there is off (no DST change
// in between), else the instant just before minuteStart.
func stepBack(off int, target, minuteStart time.Time, loc *time.Location) time.Time {
	next := target.Add(-time.Nanosecond)
	if _, o := next.In(loc).Zone(); o == off {
		return next
	}
	return minuteStart.Add(-time.Nanosecond)
}

// dayMatches is robfig/cron's day rule: month must match; if day-of-month or day-of-week is "*",
// both must match, otherwise either. w holds wall-clock fields.
func dayMatches(s *cron.SpecSchedule, w time.Time) bool {
	_, month, day := w.Date()
	if s.Month&(1<<uint(month)) == 0 {
		return false
	}
	dom := s.Dom&(1<<uint(day)) != 0
	dow := s.Dow&(1<<uint(w.Weekday())) != 0
	if s.Dom&starBit != 0 || s.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

// activeByNext decides activity with robfig's Next: the first firing strictly after t-d is in the
// window exactly when it is at or before t. Next works on wall clocks; should it return a firing at
// or before t-d, this steps forward from it, a bounded number of times.
func activeByNext(c cron.Schedule, loc *time.Location, t time.Time, d time.Duration) bool {
	t = t.In(loc)
	start := t.Add(-d)
	f := c.Next(start)
	for range 8 {
		if f.IsZero() || f.After(t) {
			return false
		}
		if f.After(start) {
			return true
		}
		f = c.Next(f)
	}
	return false
}
