package policies

import (
	"bytes"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Effective parses a policy file exactly as Parse does and, when it is valid, returns its
// document with every default filled in: the policy tidal actually runs (`tidal policy show`).
func Effective(data []byte, source string) (Document, error) {
	doc, lines, err := decode(data, source)
	var tp *typeProblems
	if errors.As(err, &tp) {
		_, verr := newPolicy(doc, source, lines)
		return Document{}, tp.with(verr)
	}
	if err != nil {
		return Document{}, err
	}
	if _, err := newPolicy(doc, source, lines); err != nil {
		return Document{}, err
	}
	d := cloneDocument(doc)
	applyDefaults(&d)
	return d, nil
}

// EnvelopeOf reads the apiVersion and kind of a YAML document without decoding the rest, so a
// caller can tell a tidal Policy from another Kubernetes object (a ConfigMap, a DGD) before the
// strict decoder reports that object's fields as unknown. ok is false when data is not a YAML
// mapping.
func EnvelopeOf(data []byte) (apiVersion, kind string, ok bool) {
	var env struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&env); err != nil {
		return "", "", false
	}
	return env.APIVersion, env.Kind, true
}

// Marshal renders a document as YAML (two-space indentation, fields in file order).
func Marshal(d Document) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("rendering policy %s: %w", d.Metadata.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
