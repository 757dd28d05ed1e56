package policies

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Load reads the policy file at path, or every *.yaml and *.yml file directly inside the directory
// at path (not recursing; other files are ignored), and returns the policies in file-name order.
//
// Each file holds exactly one policy (see Parse). Load reports the problems of every file at once.
// Two policies that plan the same DGD service (same namespace, deployment and service name), or
// that share metadata.name, are an error naming both files. Load reads the files and nothing else.
func Load(path string) ([]Policy, error) {
	files, err := policyFiles(path)
	if err != nil {
		return nil, err
	}
	var out []Policy
	var errs []error
	for _, f := range files {
		p, err := loadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	errs = append(errs, conflicts(out)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// policyFiles lists the files Load reads for path.
func policyFiles(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("loading policies: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("loading policies from %s: %w", path, err)
	}
	var files []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if (ext == ".yaml" || ext == ".yml") && !e.IsDir() {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("loading policies from %s: no *.yaml or *.yml files", path)
	}
	slices.Sort(files)
	return files, nil
}

// loadFile reads at most MaxFileSize+1 bytes of one file and parses it.
func loadFile(name string) (Policy, error) {
	f, err := os.Open(name)
	if err != nil {
		return Policy{}, fmt.Errorf("loading policy: %w", err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && !info.Mode().IsRegular() {
		return Policy{}, &FieldError{File: name, Msg: "is not a regular file"}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return Policy{}, fmt.Errorf("loading policy %s: %w", name, err)
	}
	return Parse(data, name)
}

// conflicts reports policies that share a name or plan the same DGD service.
func conflicts(ps []Policy) []error {
	var errs []error
	names := map[string]string{}
	owners := map[string]string{}
	for _, p := range ps {
		if first, dup := names[p.Name]; dup {
			errs = append(errs, &FieldError{File: p.Source, Path: "metadata.name",
				Msg: fmt.Sprintf("%q is also the name of the policy in %s", p.Name, first)})
		} else {
			names[p.Name] = p.Source
		}
		for _, s := range p.services {
			key := p.Target.Namespace + "/" + p.Target.Deployment + "/" + s.Name
			if first, dup := owners[key]; dup {
				errs = append(errs, &FieldError{File: p.Source, Path: "spec.services",
					Msg: fmt.Sprintf("service %s of DGD %s/%s is also planned by %s", s.Name, p.Target.Namespace, p.Target.Deployment, first)})
				continue
			}
			owners[key] = p.Source
		}
	}
	return errs
}
