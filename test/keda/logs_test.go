package keda

import (
	"sync"

	"github.com/go-logr/logr"
)

// errorLogs counts the Error-level lines KEDA's code logs through controller-runtime's logger
// (pkg/scalers.InitializeLogger uses sigs.k8s.io/controller-runtime/pkg/log.Log); TestMain
// installs it. Info lines are dropped.
var errorLogs = &errorSink{}

// errorSink is a logr.LogSink that counts Error calls.
type errorSink struct {
	mu sync.Mutex
	n  int
}

func (*errorSink) Init(logr.RuntimeInfo)            {}
func (*errorSink) Enabled(int) bool                 { return false }
func (*errorSink) Info(int, string, ...any)         {}
func (s *errorSink) WithValues(...any) logr.LogSink { return s }
func (s *errorSink) WithName(string) logr.LogSink   { return s }

func (s *errorSink) Error(error, string, ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
}

// take returns the Error lines logged since the last take.
func (s *errorSink) take() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.n
	s.n = 0
	return n
}
