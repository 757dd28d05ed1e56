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
	files, err := Files(path)
	if err != nil {
		return nil, err
	}
	var out []Policy
	var errs []error
	for _, f := range files {
		p, err := LoadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	errs = append(errs, CheckConflicts(out))
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Files lists the policy files Load reads for path: path itself when it is not a directory, or
// the *.yaml and *.yml files directly inside it, sorted. A directory without any is an error.
func Files(path string) ([]string, error) {
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

// LoadFile reads one policy file (at most MaxFileSize bytes) and parses it with Parse, naming the
// file in errors. It does not check conflicts with other files: see CheckConflicts.
func LoadFile(name string) (Policy, error) {
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

// CheckConflicts reports policies that share metadata.name or plan the same DGD service (same
// namespace, deployment and service name), naming both files; nil when there are none.
func CheckConflicts(ps []Policy) error {
	var errs []error
	names := map[string]string{}
	owners := map[string]string{}
	for _, p := range ps {
		if first, dup := names[p.Name]; dup {
			errs = append(errs, &FieldError{File: p.Source, Path: "metadata.name",
				Msg: fmt.Sprintf("%q is also the name of the policy in %s", p.Name, first)})
		} else {
			names[p.Name] = origin(p)
		}
		for _, s := range p.services {
			key := p.Target.Namespace + "/" + p.Target.Deployment + "/" + s.Name
			if first, dup := owners[key]; dup {
				errs = append(errs, &FieldError{File: p.Source, Path: "spec.services",
					Msg: fmt.Sprintf("service %s of DGD %s/%s is also planned by %s", s.Name, p.Target.Namespace, p.Target.Deployment, first)})
				continue
			}
			owners[key] = origin(p)
		}
	}
	return errors.Join(errs...)
}

// origin names where a policy came from: its file, or its name when it was built with New.
func origin(p Policy) string {
	if p.Source != "" {
		return p.Source
	}
	return fmt.Sprintf("policy %q", p.Name)
}
