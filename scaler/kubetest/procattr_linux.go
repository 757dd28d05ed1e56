package kubetest

import "syscall"

// procAttr makes a child die with the test binary, so a crashed test leaves no etcd or
// kube-apiserver behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
