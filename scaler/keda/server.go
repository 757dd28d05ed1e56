package keda

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/utils/clock"

	"github.com/tidal-planner/tidal/policies"
)

// Metadata keys a ScaledObject trigger sets in scalerMetadata.
const (
	KeyPolicy  = "policy"
	KeyService = "service"
)

// DefaultStaleAfter is how many planning intervals a decision stays fresh by default.
const DefaultStaleAfter = 3

// Errors a Decisions implementation returns so the server can pick the gRPC code; wrap them
// with %w and a message naming the target.
var (
	// ErrUnknown: no such policy, or no such service in it (codes.NotFound).
	ErrUnknown = errors.New("unknown target")
	// ErrNoDecision: the target exists but has no usable decision yet (codes.Unavailable).
	ErrNoDecision = errors.New("no decision yet")
	// ErrNotKEDA: the service is actuated another way (codes.FailedPrecondition).
	ErrNotKEDA = errors.New("service actuation is not keda")
)

// Decision is the latest desired replica count of one service.
type Decision struct {
	// Replicas is the desired replica count.
	Replicas int32
	// Time is when the planner decided it.
	Time time.Time
	// Interval is the policy's planning interval; staleness is measured in intervals.
	Interval time.Duration
}

// Decisions reads the planner's latest decisions from memory. Desired must not block on I/O and
// must be safe for concurrent use; its errors wrap ErrUnknown, ErrNoDecision or ErrNotKEDA.
type Decisions interface {
	Desired(policy, service string) (Decision, error)
}

// Config configures a Server.
type Config struct {
	Decisions Decisions
	// Clock measures decision age; default clock.RealClock{}.
	Clock clock.PassiveClock
	// StaleAfter is the number of planning intervals after which a decision is refused as
	// stale; default DefaultStaleAfter.
	StaleAfter int
	// Logger logs refused calls at Debug; default slog.Default().
	Logger *slog.Logger
	// Changes wakes open streams when decisions change; without it a stream notices a change
	// only at its next keepalive.
	Changes Notifier
	// KeepAlive is how often an open StreamIsActive resends an unchanged activity and re-checks
	// the decision; default DefaultKeepAlive. The ticker comes from Clock when it implements
	// clock.WithTicker.
	KeepAlive time.Duration
}

// Server implements externalscaler.ExternalScalerServer over a Decisions port.
type Server struct {
	externalscaler.UnimplementedExternalScalerServer
	cfg      Config
	stop     chan struct{} // closed by Stop
	stopOnce sync.Once
}

// New returns a Server; Decisions is required.
func New(cfg Config) (*Server, error) {
	if cfg.Decisions == nil {
		return nil, errors.New("creating the KEDA external scaler: Decisions is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	return &Server{cfg: cfg, stop: make(chan struct{})}, nil
}

// Register registers s on a gRPC server.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	externalscaler.RegisterExternalScalerServer(g, s)
}

// MetricName is the metric tidal serves for a target, lower-cased (DGD service names are often
// CamelCase; Kubernetes' metrics APIs may lower-case names on the way). KEDA prefixes it with
// s<index>- in the HPA.
func MetricName(policy, service string) string {
	return strings.ToLower("tidal-" + policy + "-" + service)
}

// IsActive implements externalscaler.ExternalScalerServer: active while desired > 0.
func (s *Server) IsActive(_ context.Context, ref *externalscaler.ScaledObjectRef) (*externalscaler.IsActiveResponse, error) {
	_, _, d, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	return &externalscaler.IsActiveResponse{Result: d.Replicas > 0}, nil
}

// GetMetricSpec implements externalscaler.ExternalScalerServer: one metric, target size 1.
func (s *Server) GetMetricSpec(_ context.Context, ref *externalscaler.ScaledObjectRef) (*externalscaler.GetMetricSpecResponse, error) {
	policy, service, err := s.target(ref)
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Decisions.Desired(policy, service); err != nil && !errors.Is(err, ErrNoDecision) {
		return nil, s.refuse(ref, err)
	}
	spec := &externalscaler.MetricSpec{MetricName: MetricName(policy, service), TargetSize: 1}
	return &externalscaler.GetMetricSpecResponse{MetricSpecs: []*externalscaler.MetricSpec{spec}}, nil
}

// GetMetrics implements externalscaler.ExternalScalerServer: one value, the desired replicas.
func (s *Server) GetMetrics(_ context.Context, req *externalscaler.GetMetricsRequest) (*externalscaler.GetMetricsResponse, error) {
	policy, service, d, err := s.lookup(req.GetScaledObjectRef())
	if err != nil {
		return nil, err
	}
	name := MetricName(policy, service)
	if m := req.GetMetricName(); m != "" && !strings.EqualFold(m, name) {
		return nil, status.Errorf(codes.NotFound, "metric %q: this target serves %q", policies.Clip(m), policies.Clip(name))
	}
	v := &externalscaler.MetricValue{MetricName: name, MetricValue: int64(d.Replicas)}
	return &externalscaler.GetMetricsResponse{MetricValues: []*externalscaler.MetricValue{v}}, nil
}

// target reads policy and service from the trigger metadata.
func (s *Server) target(ref *externalscaler.ScaledObjectRef) (policy, service string, err error) {
	md := ref.GetScalerMetadata()
	policy, service = md[KeyPolicy], md[KeyService]
	if policy == "" || service == "" {
		err = status.Errorf(codes.InvalidArgument,
			"ScaledObject %s/%s: trigger metadata must set %q (the tidal policy's metadata.name) and %q (the DGD service); got policy=%q service=%q",
			policies.Clip(ref.GetNamespace()), policies.Clip(ref.GetName()), KeyPolicy, KeyService,
			policies.Clip(policy), policies.Clip(service))
		s.cfg.Logger.Debug("KEDA call refused", "err", err)
	}
	return policy, service, err
}

// lookup returns a fresh decision for the target, or a gRPC status error.
func (s *Server) lookup(ref *externalscaler.ScaledObjectRef) (policy, service string, d Decision, err error) {
	if policy, service, err = s.target(ref); err != nil {
		return policy, service, d, err
	}
	if d, err = s.cfg.Decisions.Desired(policy, service); err != nil {
		return policy, service, d, s.refuse(ref, err)
	}
	age := s.cfg.Clock.Since(d.Time)
	if limit := time.Duration(s.cfg.StaleAfter) * d.Interval; age > limit {
		err = fmt.Errorf("policy %q service %q: the last decision is %s old, more than %d planning intervals (%s): %w",
			policies.Clip(policy), policies.Clip(service), age.Round(time.Millisecond), s.cfg.StaleAfter, limit, ErrNoDecision)
		return policy, service, d, s.refuse(ref, err)
	}
	return policy, service, d, nil
}

// refuse maps a Decisions error to its gRPC status and logs it at Debug.
func (s *Server) refuse(ref *externalscaler.ScaledObjectRef, err error) error {
	code := codes.Internal
	switch {
	case errors.Is(err, ErrUnknown):
		code = codes.NotFound
	case errors.Is(err, ErrNoDecision):
		code = codes.Unavailable
	case errors.Is(err, ErrNotKEDA):
		code = codes.FailedPrecondition
	}
	msg := policies.ClipTo(err.Error(), policies.MaxMessage) // Decisions may echo the caller's strings
	s.cfg.Logger.Debug("KEDA call refused", "scaledObject", policies.Clip(ref.GetNamespace()+"/"+ref.GetName()),
		"code", code.String(), "err", msg)
	return status.Error(code, msg)
}
