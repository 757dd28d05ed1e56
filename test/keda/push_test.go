package keda

import (
	"crypto/tls"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	v2 "k8s.io/api/autoscaling/v2"

	"github.com/kedacore/keda/v2/pkg/scalers"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
)

// metricSpecStreamer is scalers.MetricSpecStreamer.
type metricSpecStreamer interface {
	MetricSpecChan() <-chan []v2.MetricSpec
}

var _ metricSpecStreamer = scalers.MetricSpecStreamer(nil)

func newPushScaler(cfg *scalersconfig.ScalerConfig) (scalers.PushScaler, error) {
	return scalers.NewExternalPushScaler(cfg)
}

func grpcCreds(cfg *tls.Config) grpc.ServerOption {
	return grpc.Creds(credentials.NewTLS(cfg))
}
