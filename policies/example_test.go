package policies_test

import (
	"fmt"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

func ExampleParse() {
	_, err := policies.Parse([]byte(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: demo}
spec:
  target: {namespace: llm, deployment: demo, topology: aggregated}
  services:
    - {name: Worker, role: aggregated, minReplicas: 3, maxReplica: 2}
  slo: {ttft: {target: 300ms}, itl: {target: 20}}
`), "demo.yaml")
	for _, p := range policies.Problems(err) {
		fmt.Println(p)
	}
	// Output:
	// demo.yaml:7: spec.services[0]: unknown field "maxReplica" (did you mean "maxReplicas"?)
	// demo.yaml:8: spec.slo.itl.target: expected a duration such as "300ms" or "5m", got 20
}

func ExamplePolicy_BoundsAt() {
	p, err := policies.Parse([]byte(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: demo}
spec:
  target: {namespace: llm, deployment: demo, topology: aggregated}
  services:
    - {name: Worker, role: aggregated, maxReplicas: 8}
  slo: {ttft: {target: 300ms}, itl: {target: 20ms}}
  schedules:
    - name: morning
      cron: "30 7 * * 1-5"
      timeZone: Europe/Paris
      duration: 3h
      services: {Worker: {minReplicas: 4}}
`), "demo.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, hour := range []int{7, 8, 11} {
		b, _ := p.BoundsAt("Worker", time.Date(2026, 6, 3, hour, 0, 0, 0, paris))
		fmt.Printf("%02d:00 min %d max %d %v\n", hour, b.Min, b.Max, b.Schedules)
	}
	// Output:
	// 07:00 min 1 max 8 []
	// 08:00 min 4 max 8 [morning]
	// 11:00 min 1 max 8 []
}
