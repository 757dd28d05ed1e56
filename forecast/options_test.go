package forecast

import "testing"

// TestErrorWindowDefaults checks the default error windows: the last 7 periods or
// MaxErrorWindow points, whichever is fewer (with their floors), and explicit values kept.
func TestErrorWindowDefaults(t *testing.T) {
	tests := []struct {
		name                  string
		in                    Options
		wantError, wantSelect int
	}{
		{"no season: floors", Options{}, 200, 48},
		{"10-minute steps: 7 days", Options{Period: 144}, 7 * 144, 7 * 144},
		{"one-minute steps: capped", Options{Period: 1440}, MaxErrorWindow, MaxErrorWindow},
		{"15 s steps: capped", Options{Period: 5760}, MaxErrorWindow, MaxErrorWindow},
		{"explicit values kept", Options{Period: 5760, ErrorWindow: 9000, SelectWindow: 7000}, 9000, 7000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.in.withDefaults()
			if o.ErrorWindow != tc.wantError || o.SelectWindow != tc.wantSelect {
				t.Errorf("ErrorWindow, SelectWindow = %d, %d; want %d, %d", o.ErrorWindow, o.SelectWindow, tc.wantError, tc.wantSelect)
			}
		})
	}
}
