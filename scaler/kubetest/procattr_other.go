//go:build !linux

package kubetest

import "syscall"

// procAttr is the default elsewhere: only Linux can tie a child's life to its parent.
func procAttr() *syscall.SysProcAttr { return nil }
