package testenv

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// The CA's own tests are in demoserver; this checks the test form.
func TestNewTestCA(t *testing.T) {
	ca := NewTestCA(t)
	if filepath.Dir(ca.CAFile) != filepath.Dir(ca.KeyFile) {
		t.Errorf("CAFile %s and KeyFile %s in different directories", ca.CAFile, ca.KeyFile)
	}
	if _, err := os.Stat(ca.CAFile); err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(ca.ServerCert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: ca.Pool}); err != nil {
		t.Errorf("verify: %v", err)
	}
}
