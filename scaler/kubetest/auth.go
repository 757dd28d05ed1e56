package kubetest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// User is one of the identities in the API server's token file.
type User string

// The identities every Cluster knows.
const (
	// Admin is in group system:masters: it may do anything.
	Admin User = "admin"
	// Tidal authenticates as the tidal ServiceAccount of deploy/rbac (namespace tidal-system), so
	// the shipped bindings apply to it unchanged. It is bound to nothing until a test applies them.
	Tidal User = "tidal"
	// Nobody is an authenticated user with no bindings unless a test creates some.
	Nobody User = "nobody"
)

// Users lists every User a Cluster serves.
func Users() []User { return []User{Admin, Tidal, Nobody} }

// identity is what the token file says about a user.
type identity struct {
	name   string
	uid    string
	groups []string
}

// TidalServiceAccount is the namespace and name of the ServiceAccount the Tidal user stands for.
const (
	TidalNamespace      = "tidal-system"
	TidalServiceAccount = "tidal"
)

// identityOf returns the user name, uid and groups of u.
func identityOf(u User) identity {
	switch u {
	case Admin:
		return identity{"kubetest-admin", "uid-admin", []string{"system:masters"}}
	case Tidal:
		return identity{
			"system:serviceaccount:" + TidalNamespace + ":" + TidalServiceAccount, "uid-tidal",
			[]string{"system:serviceaccounts", "system:serviceaccounts:" + TidalNamespace},
		}
	default:
		return identity{"kubetest-nobody", "uid-nobody", nil}
	}
}

// UserName returns the Kubernetes user name u authenticates as.
func UserName(u User) string { return identityOf(u).name }

// newTokens returns a fresh random bearer token for every user.
func newTokens() (map[User]string, error) {
	tokens := make(map[User]string, len(Users()))
	for _, u := range Users() {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("generating a token for %s: %w", u, err)
		}
		tokens[u] = string(u) + "-" + hex.EncodeToString(b)
	}
	return tokens, nil
}

// writeTokenFile writes the static token file (token,user,uid,"group1,group2" per line).
func writeTokenFile(path string, tokens map[User]string) error {
	var b strings.Builder
	for _, u := range Users() {
		id := identityOf(u)
		fmt.Fprintf(&b, "%s,%s,%s", tokens[u], id.name, id.uid)
		if len(id.groups) > 0 {
			fmt.Fprintf(&b, ",%q", strings.Join(id.groups, ","))
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing the token file: %w", err)
	}
	return nil
}

// writeServiceAccountKey generates an RSA key for signing and verifying service-account tokens
// and writes it as PKCS#1 PEM; kube-apiserver reads the public half from the same file.
func writeServiceAccountKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generating the service-account key: %w", err)
	}
	block := &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("writing the service-account key: %w", err)
	}
	return nil
}
