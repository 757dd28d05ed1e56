package keda

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	v2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	fakescale "k8s.io/client-go/scale/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
	"k8s.io/metrics/pkg/apis/external_metrics"
	runtimeclient "sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	"github.com/kedacore/keda/v2/pkg/fallback"
	"github.com/kedacore/keda/v2/pkg/scalers"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
	"github.com/kedacore/keda/v2/pkg/scaling/cache"
	"github.com/kedacore/keda/v2/pkg/scaling/executor"
)

const (
	soName    = "llama-decode"
	namespace = "llm"
)

// trigger is one external trigger of a ScaledObject, as KEDA's operator hands it to a scaler.
type trigger struct {
	Metadata   map[string]string // the trigger's metadata (scalerMetadata)
	Auth       map[string]string // TriggerAuthentication parameters (caCert, tlsClientCert, tlsClientKey)
	Index      int
	MetricType v2.MetricTargetType // "" is KEDA's default, AverageValue
}

// target is trigger metadata pointing KEDA at tidal's policy/service on addr.
func target(addr, policy, service string) map[string]string {
	return map[string]string{"scalerAddress": addr, "policy": policy, "service": service}
}

// scalerConfig is what KEDA's scalers builder (pkg/scaling/scalers_builder.go) passes to a scaler.
func (tr trigger) scalerConfig() *scalersconfig.ScalerConfig {
	return &scalersconfig.ScalerConfig{
		ScalableObjectName: soName, ScalableObjectNamespace: namespace, ScalableObjectType: "ScaledObject",
		TriggerType: "external", TriggerMetadata: tr.Metadata, AuthParams: tr.Auth, TriggerIndex: tr.Index,
		MetricType: tr.MetricType, GlobalHTTPTimeout: 3 * time.Second, ResolvedEnv: map[string]string{},
	}
}

// newScaler builds KEDA's external scaler for tr.
func (tr trigger) newScaler(t testing.TB) scalers.Scaler {
	t.Helper()
	s, err := scalers.NewExternalScaler(tr.scalerConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// cluster is a fake Kubernetes API holding one ScaledObject and the Deployment it scales, with
// KEDA's scalers cache and scale executor wired over it as KEDA's operator wires them.
type cluster struct {
	client runtimeclient.Client
	scales *fakescale.FakeScaleClient
	exec   executor.ScaleExecutor
	cache  *cache.ScalersCache
	so     *kedav1alpha1.ScaledObject
}

// scaledObject returns a ScaledObject for tr scaling a Deployment, created an hour ago.
func scaledObject(tr trigger, minReplicas int32, fb *kedav1alpha1.Fallback) *kedav1alpha1.ScaledObject {
	return &kedav1alpha1.ScaledObject{
		ObjectMeta: metav1.ObjectMeta{Name: soName, Namespace: namespace, UID: types.UID("so-uid"), Generation: 1,
			CreationTimestamp: metav1.NewTime(time.Now().Add(-time.Hour))},
		Spec: kedav1alpha1.ScaledObjectSpec{
			ScaleTargetRef:  &kedav1alpha1.ScaleTarget{Name: soName},
			MinReplicaCount: &minReplicas, MaxReplicaCount: new(int32(8)), PollingInterval: new(int32(30)),
			Fallback: fb,
			Triggers: []kedav1alpha1.ScaleTriggers{{Type: "external", Metadata: tr.Metadata, MetricType: tr.MetricType}},
		},
		Status: kedav1alpha1.ScaledObjectStatus{ScaleTargetKind: "apps/v1.Deployment",
			ScaleTargetGVKR: &kedav1alpha1.GroupVersionKindResource{Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments"}},
	}
}

// newCluster starts the fake cluster with the Deployment at replicas.
func newCluster(t testing.TB, tr trigger, so *kedav1alpha1.ScaledObject, replicas int32) *cluster {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := kedav1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: soName, Namespace: namespace}, Spec: appsv1.DeploymentSpec{Replicas: &replicas}}
	c := &cluster{so: so, scales: &fakescale.FakeScaleClient{}}
	c.client = fake.NewClientBuilder().WithScheme(scheme).WithObjects(so, deploy).WithStatusSubresource(so).Build()
	c.scales.AddReactor("get", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: soName, Namespace: namespace},
			Spec: autoscalingv1.ScaleSpec{Replicas: c.replicas(t)}}, nil
	})
	c.scales.AddReactor("update", "deployments", func(a clienttesting.Action) (bool, runtime.Object, error) {
		s := a.(clienttesting.UpdateAction).GetObject().(*autoscalingv1.Scale)
		d := &appsv1.Deployment{}
		if err := c.client.Get(context.Background(), types.NamespacedName{Name: soName, Namespace: namespace}, d); err != nil {
			return true, nil, err
		}
		d.Spec.Replicas = &s.Spec.Replicas
		return true, s, c.client.Update(context.Background(), d)
	})
	recorder := events.NewFakeRecorder(1000)
	c.exec = executor.NewScaleExecutor(c.client, c.scales, scheme, 5*time.Second, recorder)
	factory := func(context.Context) (scalers.Scaler, *scalersconfig.ScalerConfig, error) {
		cfg := tr.scalerConfig()
		s, err := scalers.NewExternalScaler(cfg)
		return s, cfg, err
	}
	s, cfg, err := factory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.cache = &cache.ScalersCache{ScaledObject: so, Scalers: []cache.ScalerBuilder{{Scaler: s, ScalerConfig: *cfg, Factory: factory}},
		ScalableObjectGeneration: 1, Recorder: recorder}
	t.Cleanup(func() { c.cache.Close(context.Background()) })
	return c
}

// replicas reads the Deployment's replicas.
func (c *cluster) replicas(t testing.TB) int32 {
	d := &appsv1.Deployment{}
	if err := c.client.Get(context.Background(), types.NamespacedName{Name: soName, Namespace: namespace}, d); err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// pollResult is what one KEDA poll of the ScaledObject saw and did.
type pollResult struct {
	Specs          []v2.MetricSpec
	Metrics        []external_metrics.ExternalMetricValue // after fallback
	Active         bool
	Error          bool
	FallbackActive bool
	Ready          metav1.ConditionStatus
	ReadyReason    string
	Failures       int32 // status.health's numberOfFailures for the metric, -1 when not tracked
}

// poll runs one iteration of KEDA's scale loop for the ScaledObject's only trigger, as KEDA
// v2.21.0's pkg/scaling/scale_handler.go does it (getScaledObjectState -> getScalerState ->
// observeMetric, then RequestScale): the spec through the scalers cache (which rebuilds the
// scaler and retries once on an empty spec), the metric and activity through the cache (which
// rebuilds and retries once on an error), fallback.GetMetricsWithFallback over the error, and
// the scale executor over the outcome. The HPA's own reading of the metric is not part of it.
func (c *cluster) poll(t testing.TB) pollResult {
	t.Helper()
	ctx := context.Background()
	var r pollResult
	specs, err := c.cache.GetMetricSpecForScalingForScaler(ctx, 0)
	r.Specs = specs
	if err != nil {
		r.Error = true
	}
	var activeTriggers []string
	for _, spec := range specs {
		name := spec.External.Metric.Name
		raw, active, _, rawErr := c.cache.GetMetricsAndActivityForScaler(ctx, 0, name)
		soh := fallback.ScaledObjectHandler{Ctx: ctx, KubeClient: c.client, ScaleClient: c.scales,
			UpdateLock: &c.cache.ScaledObjectUpdateLock, ScaledObject: c.so}
		metrics, fbActive, err := fallback.GetMetricsWithFallback(soh, raw, rawErr, name, spec)
		r.Metrics = append(r.Metrics, metrics...)
		r.FallbackActive = r.FallbackActive || fbActive
		if err != nil {
			r.Error = true
			continue
		}
		if fbActive || active {
			r.Active = true
			activeTriggers = append(activeTriggers, name)
		}
	}
	res := c.exec.RequestScale(ctx, c.so, r.Active, r.Error, executor.ScaleExecutorOptions{ActiveTriggers: activeTriggers})
	ready := res.Conditions.GetReadyCondition()
	r.Ready, r.ReadyReason = ready.Status, ready.Reason
	if res.LastActiveTime != nil {
		c.so.Status.LastActiveTime = res.LastActiveTime
	}
	r.Failures = -1
	for _, h := range c.so.Status.Health {
		if h.NumberOfFailures != nil {
			r.Failures = *h.NumberOfFailures
		}
	}
	return r
}
