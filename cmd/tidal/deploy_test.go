package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidal-planner/tidal/policies"
	"github.com/tidal-planner/tidal/scaler/kubetest"
)

// TestDeployManifests checks deploy/tidal: the policies in the ConfigMap load, and the
// Deployment's arguments are flags tidal run accepts.
func TestDeployManifests(t *testing.T) {
	objs, err := kubetest.ReadManifests(filepath.Join("..", "..", "deploy", "tidal"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
		switch o.GetKind() {
		case "ConfigMap":
			data, _ := o.Object["data"].(map[string]any)
			for key, v := range data {
				if _, err := policies.Parse([]byte(v.(string)), key); err != nil {
					t.Errorf("ConfigMap key %s: %v", key, err)
				}
			}
		case "Deployment":
			checkDeploymentArgs(t, o.Object)
		}
	}
	for k, want := range map[string]int{"ConfigMap": 1, "Deployment": 1, "Service": 2} { // Services: ops, KEDA
		if kinds[k] != want {
			t.Errorf("deploy/tidal has %d %s objects, want %d", kinds[k], k, want)
		}
	}
}

func checkDeploymentArgs(t *testing.T, obj map[string]any) {
	t.Helper()
	spec := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	c := spec["containers"].([]any)[0].(map[string]any)
	var args []string
	for _, a := range c["args"].([]any) {
		args = append(args, a.(string))
	}
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("container args %v do not start with the run subcommand", args)
	}
	var stderr bytes.Buffer
	f, code, done := parseRunFlags(args[1:], os.Stdout, &stderr)
	if done || code != 0 {
		t.Fatalf("tidal run rejects the Deployment's args %v: %s", args, stderr.String())
	}
	if !f.leaderElect || f.leaseName != "tidal" || f.leaseNamespace != "tidal-system" {
		t.Errorf("the Deployment must elect on the Lease deploy/rbac allows (tidal-system/tidal), got %+v", f)
	}
	if f.kedaListen != ":9443" || f.kedaTLSCert == "" || f.kedaClientCA == "" {
		t.Errorf("the Deployment must serve KEDA on :9443 (the tidal-keda Service) over mutual TLS, got listen %q cert %q client CA %q",
			f.kedaListen, f.kedaTLSCert, f.kedaClientCA)
	}
}
