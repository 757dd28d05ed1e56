package metrics_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/tidal-planner/tidal/metrics"
	"github.com/tidal-planner/tidal/metrics/promtest"
	"github.com/tidal-planner/tidal/policies"
)

var capture = flag.Bool("capture", false, "record the Prometheus fixtures in testdata/metrics from a real Prometheus")

// fixtureCase is one recorded situation: the policy's model and namespace and extra
// spec.metrics lines; its queries are what the replay server matches.
type fixtureCase struct {
	name, model, namespace, extra string
}

// fixtureCases are the recorded cases captured by Observe (timeout is captured separately).
func fixtureCases() []fixtureCase {
	override := func(s, q string) string { return "    queries:\n      " + s + ": '" + q + "'\n" }
	ttft := func(q string) string { return override("ttft", q) }
	const ttftSum = "sum(rate(dynamo_frontend_time_to_first_token_seconds_sum{${selector}}[${window}]))"
	return []fixtureCase{
		{name: "ok", model: "llama", namespace: "llm-llama"},
		{name: "empty", model: "absent", namespace: "llm-absent"},
		{name: "nan", model: "llama", namespace: "llm-idle"},
		{name: "inf", model: "llama", namespace: "llm-llama", extra: ttft(ttftSum + " / 0")},
		{name: "bad_data", model: "llama", namespace: "llm-llama", extra: ttft("sum(rate(" + ttftSum)},
		{name: "warnings", model: "llama", namespace: "llm-llama"},
		{name: "ambiguous", model: "llama", namespace: "llm-llama", extra: override("queueDepth", "dynamo_frontend_queued_requests{${selector}}")},
	}
}

// fixturePolicy is the policy of a recorded case, reading from url.
func fixturePolicy(t testing.TB, url string, c fixtureCase) policies.Policy {
	return testPolicy(t, url, c.model, c.namespace, testWindow, c.extra)
}

// idle is a deployment that receives no requests: its means and quantiles are 0/0.
func idle() promtest.Deployment {
	d := variant("llm-idle")
	d.RequestRate = 0
	return d
}

// TestCaptureFixtures records the fixtures of the replay tests from a real Prometheus. It runs
// only with -capture: go test ./metrics -run TestCaptureFixtures -capture
func TestCaptureFixtures(t *testing.T) {
	if !*capture {
		t.Skip("records fixtures only with -capture")
	}
	exp := promtest.NewExporterT(t)
	exp.Set(steady())
	exp.Set(idle())
	prom := promtest.StartT(t, promtest.Config{Targets: []string{exp.Addr()}})
	// A second Prometheus whose remote store is unreachable answers every query with warnings.
	warn := promtest.StartT(t, promtest.Config{Targets: []string{exp.Addr()}, RemoteRead: "http://127.0.0.1:1/api/v1/read"})
	a := metrics.New(testOptions())
	eventually(t, "steady load and arrival CV observed", func() string {
		o := observe(t, a, testPolicy(t, prom.URL(), "llama", "llm-llama", testWindow, ""))
		if !o.ArrivalCV.OK {
			return "ArrivalCV " + o.ArrivalCV.Missing
		}
		return diffObservations(expected(steady()), o, 0.02)
	})
	for _, c := range fixtureCases() {
		rec := &recorder{next: http.DefaultTransport}
		base := prom.URL()
		if c.name == "warnings" {
			base = warn.URL()
		}
		opts := testOptions()
		opts.RoundTripper = rec
		if _, err := metrics.New(opts).Observe(context.Background(), fixturePolicy(t, base, c), timeZero()); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		writeFixture(t, c.name, rec.xs)
	}
	writeFixture(t, "timeout", []exchange{captureTimeout(t, prom.URL())})
}

// captureTimeout records Prometheus's answer to a query whose evaluation timeout (1 ns) expires.
func captureTimeout(t *testing.T, base string) exchange {
	resp, err := http.PostForm(base+"/api/v1/query", url.Values{
		"query": {"sum(rate(dynamo_frontend_requests_total[1m]))"}, "timeout": {"0.000000001"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return exchange{Query: "*", Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Body: string(body)}
}

// writeFixture stores a case's exchanges.
func writeFixture(t *testing.T, name string, xs []exchange) {
	data, err := json.MarshalIndent(xs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixturePath(name), append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
