package policies

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a Go duration string in YAML ("30s", "5m", "1h30m").
type Duration struct {
	time.Duration
}

// UnmarshalYAML decodes a Go duration string, rejecting anything else with the node's line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return fmt.Errorf("line %d: expected a duration such as \"30s\" or \"5m\"", n.Line)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: expected a duration such as \"30s\" or \"5m\", got %q", n.Line, n.Value)
	}
	d.Duration = v
	return nil
}

// MarshalYAML encodes the duration as a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
