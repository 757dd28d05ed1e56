// Package kubetest starts a real Kubernetes control plane for integration tests: etcd (Debian's
// etcd-server package) and kube-apiserver (built from k8s.io/kubernetes by .ci/build-kube-apiserver),
// both on 127.0.0.1 with free ports, temporary directories and generated credentials.
//
// The API server runs with --authorization-mode=RBAC and a static token file holding three
// identities: Admin (group system:masters), Tidal (the tidal ServiceAccount's user name, bound to
// nothing until a test applies deploy/rbac) and Nobody (bound to nothing unless a test binds it,
// for example to grant a partial set of rights). Config returns a client configuration for each.
//
// One Cluster is meant to serve a whole test package: start it from TestMain with Main, and have
// each test create its own namespace. Missing binaries fail the package at once with a message that
// says how to get them (or skip the integration tests when TIDAL_SKIP_KUBE=1); a server that does
// not come up fails within Options.StartTimeout instead of hanging.
package kubetest
