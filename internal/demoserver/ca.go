package demoserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is a throw-away certificate authority and one server certificate it
// signed, valid for 127.0.0.1, ::1 and localhost. Test and demo servers
// present the server certificate; clients trust CAFile (the --ca-file form)
// or Pool.
type CA struct {
	// CAFile is the CA certificate, PEM.
	CAFile string
	// CertFile and KeyFile are the server certificate and its private key
	// (PKCS #8), PEM. KeyFile is readable by its owner only.
	CertFile, KeyFile string
	// Pool holds the CA certificate, for tls.Config.RootCAs.
	Pool *x509.CertPool
	// Cert is the CA certificate.
	Cert *x509.Certificate
	// ServerCert is the server certificate and key, for tls.Config.Certificates.
	ServerCert tls.Certificate
}

// caValidity bounds the certificates' lifetime: long enough for a benchmark
// run, short enough that a leaked file is useless soon.
const caValidity = 30 * 24 * time.Hour

// NewCA creates a CA and a server certificate with ECDSA P-256 keys and
// writes them to dir as ca.pem, server.pem and server-key.pem. Serial numbers
// are left to crypto/x509, which draws them at random when the template has
// none.
func NewCA(dir string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create ca dir: %w", err)
	}
	now := time.Now()

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ca key: %w", err)
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{"imapmigrate test"}, CommonName: "imapmigrate test CA"},
		NotBefore:             now.Add(-time.Hour), // tolerate clock skew
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("sign ca certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("parse ca certificate: %w", err)
	}

	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate server key: %w", err)
	}
	srvTmpl := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"imapmigrate test"}, CommonName: "localhost"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(caValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("sign server certificate: %w", err)
	}
	srvKeyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		return nil, fmt.Errorf("marshal server key: %w", err)
	}

	ca := &CA{
		CAFile:   filepath.Join(dir, "ca.pem"),
		CertFile: filepath.Join(dir, "server.pem"),
		KeyFile:  filepath.Join(dir, "server-key.pem"),
		Pool:     x509.NewCertPool(),
		Cert:     caCert,
	}
	ca.Pool.AddCert(caCert)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: srvKeyDER})
	files := []struct {
		path string
		data []byte
		perm os.FileMode
	}{
		{ca.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644},
		{ca.CertFile, certPEM, 0o644},
		{ca.KeyFile, keyPEM, 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, f.perm); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	ca.ServerCert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load server key pair: %w", err)
	}
	return ca, nil
}

// ClientTLSConfig returns a client configuration that trusts only this CA.
// serverName may be empty: the client then verifies the host it dials
// (127.0.0.1 and localhost both match the server certificate).
func (ca *CA) ClientTLSConfig(serverName string) *tls.Config {
	return &tls.Config{RootCAs: ca.Pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
}

// ServerTLSConfig returns a server configuration presenting the server
// certificate.
func (ca *CA) ServerTLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{ca.ServerCert}, MinVersion: tls.VersionTLS12}
}
