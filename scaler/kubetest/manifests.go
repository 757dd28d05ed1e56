package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

// fieldManager names the harness in managedFields.
const fieldManager = "tidal-kubetest"

// crdGVR is apiextensions.k8s.io/v1 CustomResourceDefinitions (read through the dynamic client, so
// the harness does not link the apiextensions-apiserver module).
var crdGVR = schema.GroupVersionResource{
	Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions",
}

// ReadManifests decodes every object in the given YAML or JSON files, or in the *.yaml, *.yml and
// *.json files of the given folders (in name order). Documents may be separated by ---; empty
// documents are skipped.
func ReadManifests(paths ...string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, p := range paths {
		files, err := manifestFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			more, err := readManifest(f)
			if err != nil {
				return nil, err
			}
			objs = append(objs, more...)
		}
	}
	return objs, nil
}

// manifestFiles expands a folder into its manifest files.
func manifestFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	var files []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	slices.Sort(files)
	return files, nil
}

// readManifest decodes the objects of one file.
func readManifest(path string) ([]*unstructured.Unstructured, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, fmt.Errorf("decoding %s: %w", path, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("decoding %s: an object without kind or metadata.name", path)
		}
		objs = append(objs, u)
	}
}

// LoadCRDs applies the CRDs in paths (files or folders) as Admin and waits until each is
// Established and its resource answers a list.
func (c *Cluster) LoadCRDs(ctx context.Context, paths ...string) error {
	if len(paths) == 0 {
		return nil
	}
	objs, err := ReadManifests(paths...)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(c.Config(Admin))
	if err != nil {
		return fmt.Errorf("creating a client for CRDs: %w", err)
	}
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			return fmt.Errorf("loading CRDs: %s %q is not a CustomResourceDefinition", o.GetKind(), o.GetName())
		}
		if err := apply(ctx, dyn.Resource(crdGVR), o); err != nil {
			return fmt.Errorf("loading CRD %s: %w", o.GetName(), err)
		}
	}
	for _, o := range objs {
		if err := waitEstablished(ctx, dyn, o); err != nil {
			return err
		}
	}
	return nil
}

// waitEstablished polls until the CRD is Established and a list of its first served version works.
func waitEstablished(ctx context.Context, dyn dynamic.Interface, crd *unstructured.Unstructured) error {
	gvr, err := servedResource(crd)
	if err != nil {
		return err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := dyn.Resource(crdGVR).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil || !conditionTrue(got, "Established") {
			return false, nil
		}
		_, err = dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for CRD %s to be established: %w", crd.GetName(), err)
	}
	return nil
}

// servedResource returns the group, first served version and plural of a CRD manifest.
func servedResource(crd *unstructured.Unstructured) (schema.GroupVersionResource, error) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		if served, _ := vm["served"].(bool); served {
			name, _ := vm["name"].(string)
			return schema.GroupVersionResource{Group: group, Version: name, Resource: plural}, nil
		}
	}
	return schema.GroupVersionResource{}, fmt.Errorf("CRD %s serves no version", crd.GetName())
}

// conditionTrue reports whether status.conditions holds type with status "True".
func conditionTrue(u *unstructured.Unstructured, condType string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		cm, _ := c.(map[string]any)
		if cm["type"] == condType && cm["status"] == "True" {
			return true
		}
	}
	return false
}

// Apply server-side-applies the objects in paths (files or folders) as user u, in order. Namespaced
// objects without a namespace go to "default". It is how tests install deploy/rbac unchanged.
func (c *Cluster) Apply(ctx context.Context, u User, paths ...string) error {
	if len(paths) == 0 {
		return nil
	}
	objs, err := ReadManifests(paths...)
	if err != nil {
		return err
	}
	return c.ApplyObjects(ctx, u, objs...)
}

// ApplyObjects server-side-applies objs as user u, in order.
func (c *Cluster) ApplyObjects(ctx context.Context, u User, objs ...*unstructured.Unstructured) error {
	cfg := c.Config(u)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("creating a client to apply manifests: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(c.Config(Admin))
	if err != nil {
		return fmt.Errorf("creating a discovery client: %w", err)
	}
	groups, err := restmapper.GetAPIGroupResources(disc)
	if err != nil {
		return fmt.Errorf("discovering API resources: %w", err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("applying %s %s: %w", gvk.Kind, o.GetName(), err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			if o.GetNamespace() == "" {
				o = o.DeepCopy()
				o.SetNamespace("default")
			}
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		if err := apply(ctx, ri, o); err != nil {
			return fmt.Errorf("applying %s %s: %w", gvk.Kind, o.GetName(), err)
		}
	}
	return nil
}

// apply server-side-applies one object.
func apply(ctx context.Context, ri dynamic.ResourceInterface, o *unstructured.Unstructured) error {
	body, err := o.MarshalJSON()
	if err != nil {
		return err
	}
	force := true
	_, err = ri.Patch(ctx, o.GetName(), types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: fieldManager, Force: &force})
	return err
}

// CreateNamespace creates a namespace with a unique name starting with prefix, as Admin, and
// returns its name.
func (c *Cluster) CreateNamespace(ctx context.Context, prefix string) (string, error) {
	dyn, err := dynamic.NewForConfig(c.Config(Admin))
	if err != nil {
		return "", fmt.Errorf("creating a namespace client: %w", err)
	}
	ns := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"generateName": prefix + "-"},
	}}
	got, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).
		Create(ctx, ns, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating a namespace: %w", err)
	}
	return got.GetName(), nil
}
