package demoserver

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"testing"
)

func TestCAServerCertificate(t *testing.T) {
	ca := newTestCA(t)
	leaf, err := x509.ParseCertificate(ca.ServerCert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: ca.Pool}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: ca.Pool}); err == nil {
		t.Error("certificate verified for example.com")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: x509.NewCertPool()}); err == nil {
		t.Error("certificate verified without the CA")
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA || ca.Cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithms %v / %v, want ECDSA", leaf.PublicKeyAlgorithm, ca.Cert.PublicKeyAlgorithm)
	}
}

func TestCAFiles(t *testing.T) {
	ca := newTestCA(t)

	// The --ca-file form: a pool built from CAFile alone verifies the
	// server certificate file.
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CAFile holds no certificate")
	}
	certPEM, err := os.ReadFile(ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("CertFile: no CERTIFICATE block")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: pool}); err != nil {
		t.Errorf("verify with CAFile: %v", err)
	}
	if _, err := tls.LoadX509KeyPair(ca.CertFile, ca.KeyFile); err != nil {
		t.Errorf("CertFile/KeyFile: %v", err)
	}
	fi, err := os.Stat(ca.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("KeyFile mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestCAHandshake(t *testing.T) {
	ca := newTestCA(t)
	cconn, sconn := net.Pipe()
	defer cconn.Close()
	defer sconn.Close()
	srv := tls.Server(sconn, ca.ServerTLSConfig())
	go func() {
		if err := srv.Handshake(); err == nil {
			srv.Write([]byte("ok"))
		}
		srv.Close()
	}()
	cl := tls.Client(cconn, ca.ClientTLSConfig("localhost"))
	if err := cl.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	b, err := io.ReadAll(cl)
	if err != nil || string(b) != "ok" {
		t.Fatalf("read %q, %v", b, err)
	}
}
