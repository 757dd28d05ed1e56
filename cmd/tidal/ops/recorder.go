package ops

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidal-planner/tidal/planner"
)

// Options configure a Recorder. The zero value is usable.
type Options struct {
	// Registry receives tidal's metrics (default: a new registry).
	Registry *prometheus.Registry
	// Keep is how many ticks to keep per policy for /debug/decisions (default 20).
	Keep int
	// Kind classifies tick errors for tidal_errors_total{kind} (default DefaultKind).
	Kind func(error) string
}

// Recorder keeps tidal's metrics and the last decisions of every policy. It implements
// planner.Recorder and is safe for concurrent use.
type Recorder struct {
	reg     *prometheus.Registry
	metrics *metrics
	keep    int
	kind    func(error) string

	mu    sync.Mutex
	ticks map[string][]record // per policy, oldest first, at most keep
}

// NewRecorder returns a Recorder with its metrics registered.
func NewRecorder(opts Options) *Recorder {
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Keep <= 0 {
		opts.Keep = 20
	}
	if opts.Kind == nil {
		opts.Kind = DefaultKind
	}
	return &Recorder{reg: opts.Registry, metrics: newMetrics(opts.Registry), keep: opts.Keep,
		kind: opts.Kind, ticks: map[string][]record{}}
}

// Registry is the registry the metrics live in (served at /metrics).
func (r *Recorder) Registry() *prometheus.Registry { return r.reg }

// Record implements planner.Recorder.
func (r *Recorder) Record(t planner.Tick) {
	r.metrics.record(t, r.kind)
	d := recordOf(t, r.kind)
	r.mu.Lock()
	defer r.mu.Unlock()
	ring := r.ticks[t.Policy.Name]
	if ring == nil { // exactly keep records: append's doubling would leave 20 of 32 used
		ring = make([]record, 0, r.keep)
	}
	if len(ring) >= r.keep {
		ring = slices.Delete(ring, 0, len(ring)-r.keep+1)
	}
	r.ticks[t.Policy.Name] = append(ring, d)
}

// SetPolicies records the policies being planned and forgets the series and decisions of
// policies no longer among them.
func (r *Recorder) SetPolicies(names []string) {
	r.metrics.policies.Set(float64(len(names)))
	r.mu.Lock()
	defer r.mu.Unlock()
	for name := range r.ticks {
		if !slices.Contains(names, name) {
			delete(r.ticks, name)
			r.metrics.series.forget(name)
		}
	}
}

// Reloaded counts a policy reload; ok false means the new files were rejected.
func (r *Recorder) Reloaded(ok bool) {
	res := "applied"
	if !ok {
		res = "rejected"
	}
	r.metrics.reloads.WithLabelValues(res).Inc()
}

// ObserveFailed counts one tick of a policy whose Prometheus reads failed with the given kind
// in tidal_errors_total{stage="observe"}. The planner holds on such ticks: the reads become
// missing values, not tick errors, so the wiring reports them here.
func (r *Recorder) ObserveFailed(policy, kind string) {
	r.metrics.series.observeFailed(policy, kind)
}

// PolicySourceUnreadable counts a new problem reading the policy files (an unreadable or
// emptied directory) as a reload with result "unreadable"; the caller reports each problem once,
// not every poll.
func (r *Recorder) PolicySourceUnreadable() {
	r.metrics.reloads.WithLabelValues("unreadable").Inc()
}

// SetPolicySourceOK sets tidal_policy_source_ok: 1 when the policy files were readable at the
// last poll and are the running set, 0 while they are unreadable or a rejected set is in place.
func (r *Recorder) SetPolicySourceOK(ok bool) { r.metrics.sourceOK.Set(boolFloat(ok)) }

// SetLeader records whether this process holds the leader lease.
func (r *Recorder) SetLeader(leading bool) { r.metrics.leader.Set(boolFloat(leading)) }

// Decisions returns the kept decisions, newest first: of one policy, or of all when policy is
// empty; at most limit (0 = all kept). Only those returned are rendered.
func (r *Recorder) Decisions(policy string, limit int) []Decision {
	r.mu.Lock()
	var recs []record
	for name, ring := range r.ticks {
		if policy == "" || policy == name {
			recs = append(recs, ring...)
		}
	}
	r.mu.Unlock()
	slices.SortStableFunc(recs, func(a, b record) int {
		if c := b.time.Compare(a.time); c != 0 {
			return c
		}
		return compareStrings(a.policy, b.policy)
	})
	if limit > 0 && len(recs) > limit {
		recs = recs[:limit]
	}
	var out []Decision
	for _, rec := range recs {
		out = append(out, decisionOf(rec))
	}
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Decision is one tick as /debug/decisions shows it.
type Decision struct {
	Policy          string    `json:"policy"`
	Namespace       string    `json:"namespace"`
	Deployment      string    `json:"deployment"`
	Mode            string    `json:"mode"`
	Time            time.Time `json:"time"`
	DurationSeconds float64   `json:"durationSeconds"`
	// WindowSeconds is the metrics window the tick read (spec.metrics.window, widened to four
	// scrapes of ScrapeIntervalSeconds when it spans fewer); ScrapeIntervalSeconds is the
	// frontend's measured scrape interval, absent until measured.
	WindowSeconds         float64          `json:"windowSeconds"`
	ScrapeIntervalSeconds float64          `json:"scrapeIntervalSeconds,omitempty"`
	Outcome               string           `json:"outcome"`
	Changed               bool             `json:"changed"`
	GPUs                  int32            `json:"gpus"`
	ShortfallGPUs         int32            `json:"shortfallGPUs,omitempty"`
	Services              []Service        `json:"services"`
	Observed              map[string]Value `json:"observed,omitempty"`
	Errors                []Error          `json:"errors,omitempty"`
}

// Service is one service's decision.
type Service struct {
	Name           string   `json:"name"`
	Role           string   `json:"role"`
	Current        int32    `json:"current"`
	Ready          int32    `json:"ready"`
	Desired        int32    `json:"desired"`
	Held           bool     `json:"held,omitempty"`
	GPUsPerReplica int32    `json:"gpusPerReplica"`
	Need           float64  `json:"need"`
	Load           Load     `json:"load"`
	Reasons        []Reason `json:"reasons"`
	// ErrorBudget is absent for a service the error budget does not charge (a frontend) and when
	// the controller did not run.
	ErrorBudget *ErrorBudget `json:"errorBudget,omitempty"`
}

// ErrorBudget is a service's error-budget state after the decision (planner.ErrorBudget): its
// level and reserve quantile, its share of the miss budget, and, when the charged attainment was
// known (measured), its recent burn and its objective window's spend, each over the share.
type ErrorBudget struct {
	Risk            float64  `json:"risk"`
	ReserveQuantile float64  `json:"reserveQuantile"`
	Share           float64  `json:"share"`
	Burn            *float64 `json:"burn,omitempty"`
	Spent           *float64 `json:"spent,omitempty"`
}

// Load is the load a service was sized for.
type Load struct {
	RequestRate     float64 `json:"requestRate"`
	InputTokenRate  float64 `json:"inputTokenRate"`
	OutputTokenRate float64 `json:"outputTokenRate"`
}

// Reason is one step's reason; Detail is its one-line rendering.
type Reason struct {
	Step   string  `json:"step"`
	Code   string  `json:"code"`
	Before int32   `json:"before"`
	After  int32   `json:"after"`
	Value  float64 `json:"value,omitempty"`
	Limit  float64 `json:"limit,omitempty"`
	Note   string  `json:"note,omitempty"`
	Detail string  `json:"detail"`
}

// Value is an observed signal: its value, or why it is missing.
type Value struct {
	Value   *float64 `json:"value,omitempty"`
	Missing string   `json:"missing,omitempty"`
}

// Error is one tick error.
type Error struct {
	Stage string `json:"stage"`
	Kind  string `json:"kind"`
	Error string `json:"error"`
}
