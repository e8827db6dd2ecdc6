package testenv

import (
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/demoserver"
)

// CA is a throw-away certificate authority and one server certificate it
// signed, valid for 127.0.0.1, ::1 and localhost (demoserver.CA). Test
// servers present the server certificate; clients trust CAFile (the
// --ca-file form) or Pool.
type CA = demoserver.CA

// NewCA creates a CA and a server certificate with ECDSA P-256 keys and
// writes them to dir as ca.pem, server.pem and server-key.pem
// (demoserver.NewCA).
func NewCA(dir string) (*CA, error) { return demoserver.NewCA(dir) }

// NewTestCA is NewCA in a directory removed when the test ends.
func NewTestCA(t testing.TB) *CA {
	t.Helper()
	ca, err := NewCA(t.TempDir())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return ca
}
