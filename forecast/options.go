package forecast

import (
	"errors"
	"fmt"
	"slices"
)

// Options configure a Forecaster. Zero values take the documented defaults; steps are points of
// the series (one point per planner interval).
type Options struct {
	// Period is the number of steps per season (one day: 144 at 10 minutes). 0 or 1 disables
	// seasonality.
	Period int
	// MaxHorizon is the longest horizon whose errors are tracked for intervals and for auto's
	// choice (default 12). Forecasts beyond it widen the last tracked band by sqrt(h/MaxHorizon).
	MaxHorizon int
	// GapSteps is the length of a run of exact zeros from which the run counts as a collection gap
	// and is treated as missing (default Period/24, one hour at a daily Period, when Period >= 48;
	// otherwise off). 1 makes every exact zero missing. Negative disables gap detection.
	GapSteps int
	// Window is the least-squares window of the linear-trend method (default 6).
	Window int
	// ARLags is the highest autoregressive order tried (default 6); the order is chosen by AIC.
	ARLags int
	// History caps the points kept (default 14*Period, at least 512).
	History int
	// RefitEvery is the number of steps between scheduled refits (default Period, at least 24);
	// a refit also happens when the recent one-step error drifts to twice its level at the last fit.
	RefitEvery int
	// ErrorWindow is the number of recent errors per horizon kept for intervals (default the
	// last 7 periods or MaxErrorWindow points, whichever is fewer, and at least 200).
	ErrorWindow int
	// SelectWindow is the number of recent errors per horizon auto ranks methods by (default
	// the last 7 periods or MaxErrorWindow points, whichever is fewer, and at least 48).
	SelectWindow int
	// Aggregate is the number of consecutive points averaged into one point of the series the
	// method fits (default 1: the series itself). Above 1, New returns a forecaster that fits the
	// method on the k-point means, at a k-times coarser step, and brings its forecasts back to the
	// series' step (see coarse). The other fields stay in points of the series; New converts them.
	Aggregate int

	// compact marks the predictor inside a coarse forecaster: the candidates' ranking errors
	// keep only their mean, and methods that refit on nothing older keep a short history.
	compact bool
}

// MaxErrorWindow caps the default ErrorWindow and SelectWindow, so that the error windows, the
// bulk of a forecaster's memory, stay bounded at fine steps: 7 days at a 10-minute step are
// 1,008 points, but 40,320 at 15 s (per horizon, per band variant, per auto candidate). 4,032
// points are 28 days at 10 minutes, 2.8 days at one minute and 16.8 hours at 15 s. An explicit
// ErrorWindow or SelectWindow is not capped.
const MaxErrorWindow = 4032

// withDefaults fills zero fields.
func (o Options) withDefaults() Options {
	if o.Period < 2 {
		o.Period = 0
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MaxHorizon, 12)
	if o.GapSteps == 0 && o.Period >= 48 {
		o.GapSteps = o.Period / 24
	}
	def(&o.Window, 6)
	def(&o.ARLags, 6)
	def(&o.History, max(14*o.Period, 512))
	def(&o.RefitEvery, max(o.Period, 24))
	def(&o.ErrorWindow, max(min(7*o.Period, MaxErrorWindow), 200))
	def(&o.SelectWindow, max(min(7*o.Period, MaxErrorWindow), 48))
	def(&o.Aggregate, 1)
	return o
}

// validate rejects negative sizes (GapSteps may be negative: disabled).
func (o Options) validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{
		{"Period", o.Period}, {"MaxHorizon", o.MaxHorizon}, {"Window", o.Window}, {"ARLags", o.ARLags},
		{"History", o.History}, {"RefitEvery", o.RefitEvery}, {"ErrorWindow", o.ErrorWindow},
		{"SelectWindow", o.SelectWindow}, {"Aggregate", o.Aggregate},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s: %d is negative", f.name, f.v))
		}
	}
	if o.Window == 1 {
		errs = append(errs, errors.New("Window: 1 point cannot define a trend (use 2 or more)"))
	}
	if o.MaxHorizon > 10000 || o.ARLags > 64 || o.History > 1<<20 || o.Aggregate > 1<<16 {
		errs = append(errs, fmt.Errorf("MaxHorizon %d, ARLags %d, History %d or Aggregate %d is implausibly large", o.MaxHorizon, o.ARLags, o.History, o.Aggregate))
	}
	return errors.Join(errs...)
}

// Method names accepted by New.
const (
	MethodLast          = "last"
	MethodSeasonalNaive = "seasonal-naive"
	MethodLastRatio     = "last-ratio"
	MethodLinear        = "linear"
	MethodHoltWinters   = "holt-winters"
	MethodAR            = "ar"
	MethodKalman        = "kalman"
	MethodAuto          = "auto"
)

// ErrUnknownMethod is returned by New for a name not in Methods.
var ErrUnknownMethod = errors.New("unknown forecast method")

// Methods lists the method names New accepts, baselines first, auto last.
func Methods() []string {
	return []string{MethodLast, MethodSeasonalNaive, MethodLastRatio, MethodLinear, MethodHoltWinters, MethodAR, MethodKalman, MethodAuto}
}

// New returns a Forecaster for method (one of Methods) with opts. The result also implements
// Describer.
func New(method string, opts Options) (Forecaster, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("forecast options: %w", err)
	}
	o := opts.withDefaults()
	if !slices.Contains(Methods(), method) {
		return nil, fmt.Errorf("%w %q (known: %v)", ErrUnknownMethod, method, Methods())
	}
	if o.Aggregate > 1 {
		return newCoarse(method, o), nil
	}
	return newPredictor(method, &o, false), nil
}

// newModel returns the engine of a method other than auto.
func newModel(method string, o Options) model {
	switch method {
	case MethodSeasonalNaive:
		return &seasonalNaive{period: o.Period}
	case MethodLastRatio:
		return &lastValue{}
	case MethodLinear:
		return &linearTrend{window: o.Window}
	case MethodHoltWinters:
		return &holtWinters{period: o.Period}
	case MethodAR:
		return &autoRegressive{maxLags: o.ARLags, season: seasonal{period: o.Period}, compact: o.compact}
	case MethodKalman:
		return &kalmanLLT{season: seasonal{period: o.Period}}
	case MethodAuto:
		return newAuto(o)
	}
	return &lastValue{}
}
