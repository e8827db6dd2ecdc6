package imapconn_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

const probePassword = "s3cret-Pa55"

// probeCfg is a configuration for d with short timeouts.
func probeCfg(d *testenv.Dovecot, sec imapconn.Security, tlsPort bool) *imapconn.Config {
	port := d.Port
	if tlsPort {
		port = d.TLSPort
	}
	return &imapconn.Config{
		Host: d.Host, Port: port, Security: sec, CAFile: d.CA.CAFile,
		Auth: imapconn.AuthLogin, User: "alice", Password: probePassword,
		DialTimeout: 2 * time.Second, CommandTimeout: 5 * time.Second,
	}
}

// lastStep returns the last step, which is the failed one when the probe failed.
func lastStep(t *testing.T, r *imapconn.ProbeReport) imapconn.ProbeStep {
	t.Helper()
	if len(r.Steps) == 0 {
		t.Fatal("no steps")
	}
	return r.Steps[len(r.Steps)-1]
}

func stepNames(r *imapconn.ProbeReport) string {
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// wantFailure checks that the probe failed at step, with detail and fix
// containing the given texts.
func wantFailure(t *testing.T, r *imapconn.ProbeReport, step, detail, fix string) {
	t.Helper()
	if r.OK {
		t.Fatalf("probe OK, want a failure at %s: %+v", step, r.Steps)
	}
	f := r.FirstFailure()
	if f == nil || f.Name != step {
		t.Fatalf("failed step = %+v, want %s (steps %s)", f, step, stepNames(r))
	}
	if *f != lastStep(t, r) {
		t.Errorf("steps continued after the failure: %s", stepNames(r))
	}
	if !strings.Contains(f.Detail, detail) {
		t.Errorf("detail = %q, want it to contain %q", f.Detail, detail)
	}
	if !strings.Contains(f.Fix, fix) {
		t.Errorf("fix = %q, want it to contain %q", f.Fix, fix)
	}
}

func feature(r *imapconn.ProbeReport, name string) (imapconn.ProbeFeature, bool) {
	for _, f := range r.Features {
		if f.Name == name {
			return f, true
		}
	}
	return imapconn.ProbeFeature{}, false
}

func TestProbeDovecot(t *testing.T) {
	d := testenv.StartDovecot(t, testenv.DovecotOptions{
		Users:                map[string]string{"alice": probePassword},
		AutoCreateSpecialUse: true,
	})
	ctx := context.Background()

	t.Run("ssl", func(t *testing.T) {
		r := imapconn.Probe(ctx, probeCfg(d, imapconn.SecuritySSL, true), true, nil)
		if !r.OK {
			t.Fatalf("probe failed: %+v", r.Steps)
		}
		if got, want := stepNames(r), "resolve,connect,tls,greeting,capability,auth,login,folders"; got != want {
			t.Errorf("steps = %s, want %s", got, want)
		}
		if r.Port != d.TLSPort || r.RemoteAddr != d.TLSAddr() || len(r.Addresses) != 1 {
			t.Errorf("port %d, remote %q, addresses %v", r.Port, r.RemoteAddr, r.Addresses)
		}
		if r.TLS == nil || r.TLS.Certificate == nil {
			t.Fatalf("no TLS facts: %+v", r.TLS)
		}
		c := r.TLS.Certificate
		if !r.TLS.Verified || !strings.HasPrefix(r.TLS.Version, "TLS 1.") || r.TLS.VerifyError != "" {
			t.Errorf("tls = %+v", r.TLS)
		}
		if !strings.Contains(c.Subject, "localhost") || !strings.Contains(c.Issuer, "imapmigrate test CA") ||
			!strings.Contains(strings.Join(c.SANs, " "), "127.0.0.1") || time.Until(c.NotAfter) < 24*time.Hour || len(c.SHA256) != 64 {
			t.Errorf("certificate = %+v", c)
		}
		if !strings.HasPrefix(r.Greeting, "* OK") {
			t.Errorf("greeting = %q", r.Greeting)
		}
		if len(r.Capabilities) == 0 || len(r.AuthMechanisms) == 0 {
			t.Errorf("capabilities %v, auth mechanisms %v", r.Capabilities, r.AuthMechanisms)
		}
		if !r.LoggedIn || r.FolderCount != 6 || r.Delimiter != "/" {
			t.Errorf("logged in %v, %d folders, delimiter %q; want 6 folders (INBOX and 5 special-use), /",
				r.LoggedIn, r.FolderCount, r.Delimiter)
		}
		for _, name := range []string{"IMAP4rev1", "UIDPLUS", "CONDSTORE", "QRESYNC", "SPECIAL-USE", "NAMESPACE", "LITERAL+", "MULTIAPPEND"} {
			if f, ok := feature(r, name); !ok || !f.Offered || f.Note == "" {
				t.Errorf("feature %s = %+v, %v; want offered (after login)", name, f, ok)
			}
		}
		if f, _ := feature(r, "LOGINDISABLED"); f.Offered {
			t.Error("LOGINDISABLED offered over TLS")
		}
		if len(r.Warnings) != 0 {
			t.Errorf("warnings: %v", r.Warnings)
		}
	})

	t.Run("tls", func(t *testing.T) {
		r := imapconn.Probe(ctx, probeCfg(d, imapconn.SecurityStartTLS, false), true, nil)
		if !r.OK {
			t.Fatalf("probe failed: %+v", r.Steps)
		}
		if got, want := stepNames(r), "resolve,connect,greeting,starttls,tls,capability,auth,login,folders"; got != want {
			t.Errorf("steps = %s, want %s", got, want)
		}
		if r.TLS == nil || !r.TLS.Verified || r.TLS.Certificate == nil {
			t.Errorf("tls = %+v", r.TLS)
		}
		if !slicesHasFold(r.CapabilitiesBeforeTLS, "STARTTLS") || slicesHasFold(r.Capabilities, "STARTTLS") {
			t.Errorf("before TLS %v, after %v: want STARTTLS only before", r.CapabilitiesBeforeTLS, r.Capabilities)
		}
		if f, _ := feature(r, "STARTTLS"); !f.Offered {
			t.Error("STARTTLS feature not offered")
		}
	})

	t.Run("host name", func(t *testing.T) {
		cfg := probeCfg(d, imapconn.SecuritySSL, true)
		cfg.Host = "localhost" // on the certificate; may resolve to ::1 first
		r := imapconn.Probe(ctx, cfg, false, nil)
		if !r.OK {
			t.Fatalf("probe failed: %+v", r.Steps)
		}
		if !slicesHasFold(r.Addresses, "127.0.0.1") || r.RemoteAddr != d.TLSAddr() {
			t.Errorf("addresses %v, remote %s", r.Addresses, r.RemoteAddr)
		}
	})

	t.Run("none without login", func(t *testing.T) {
		cfg := probeCfg(d, imapconn.SecurityNone, false)
		cfg.User, cfg.Password = "", ""
		r := imapconn.Probe(ctx, cfg, false, nil)
		if !r.OK {
			t.Fatalf("probe failed: %+v", r.Steps)
		}
		if got, want := stepNames(r), "resolve,connect,greeting,capability,auth"; got != want {
			t.Errorf("steps = %s, want %s", got, want)
		}
		if r.TLS != nil || r.LoggedIn || r.User != "" {
			t.Errorf("tls %+v, logged in %v, user %q", r.TLS, r.LoggedIn, r.User)
		}
		if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "not encrypted") || !strings.Contains(r.Warnings[0], "--security tls") {
			t.Errorf("warnings = %v, want the clear-text warning suggesting tls", r.Warnings)
		}
	})

	t.Run("ssl against the plain port", func(t *testing.T) {
		r := imapconn.Probe(ctx, probeCfg(d, imapconn.SecuritySSL, false), true, nil)
		wantFailure(t, r, imapconn.StepTLS, "plain text", "this port speaks plain IMAP: use --security tls or none, or port 993 for ssl")
	})

	for _, sec := range []imapconn.Security{imapconn.SecurityStartTLS, imapconn.SecurityNone} {
		t.Run(string(sec)+" against the TLS port", func(t *testing.T) {
			cfg := probeCfg(d, sec, true)
			cfg.DialTimeout = time.Second
			start := time.Now()
			r := imapconn.Probe(ctx, cfg, true, nil)
			wantFailure(t, r, imapconn.StepGreeting, "no greeting", "this port expects TLS: use --security ssl")
			if el := time.Since(start); el > 4*time.Second {
				t.Errorf("took %s with a 1 s dial timeout", el)
			}
		})
	}

	t.Run("untrusted CA", func(t *testing.T) {
		cfg := probeCfg(d, imapconn.SecuritySSL, true)
		cfg.CAFile = testenv.NewTestCA(t).CAFile // another CA
		r := imapconn.Probe(ctx, cfg, true, nil)
		wantFailure(t, r, imapconn.StepTLS, `issued by "CN=imapmigrate test CA`, "--ca-file")
		if r.TLS == nil || r.TLS.Verified || r.TLS.Certificate == nil || r.TLS.VerifyError == "" {
			t.Errorf("tls = %+v: want the unverified certificate's facts", r.TLS)
		}
	})

	t.Run("insecure skip verify says whether it would verify", func(t *testing.T) {
		cfg := probeCfg(d, imapconn.SecuritySSL, true)
		cfg.CAFile = testenv.NewTestCA(t).CAFile
		cfg.InsecureSkipVerify = true
		r := imapconn.Probe(ctx, cfg, false, nil)
		if !r.OK {
			t.Fatalf("probe failed: %+v", r.Steps)
		}
		if r.TLS.Verified || r.TLS.VerifyError == "" || len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "would not verify") {
			t.Errorf("tls %+v, warnings %v", r.TLS, r.Warnings)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		cfg := probeCfg(d, imapconn.SecuritySSL, true)
		cfg.Password = "not-" + probePassword
		r := imapconn.Probe(ctx, cfg, true, nil)
		wantFailure(t, r, imapconn.StepLogin, `"alice" at `+d.TLSAddr(), `user name "alice"`)
		if r.LoggedIn {
			t.Error("LoggedIn after a failed login")
		}
		if b, _ := json.Marshal(r); strings.Contains(string(b), cfg.Password.Reveal()) {
			t.Errorf("report shows the password: %s", b)
		}
	})

	t.Run("sasl plain with master user", func(t *testing.T) {
		cfg := probeCfg(d, imapconn.SecuritySSL, true)
		cfg.Auth, cfg.User, cfg.Authzid, cfg.Password = imapconn.AuthPlain, d.MasterUser, "alice", sensitive.String(d.MasterPassword)
		r := imapconn.Probe(ctx, cfg, true, nil)
		if !r.OK || r.FolderCount != 6 {
			t.Fatalf("probe: %+v, %d folders", r.Steps, r.FolderCount)
		}
	})

	t.Run("mechanism not offered", func(t *testing.T) {
		cfg := probeCfg(d, imapconn.SecuritySSL, true)
		cfg.Auth = imapconn.AuthXOAUTH2
		r := imapconn.Probe(ctx, cfg, true, nil)
		wantFailure(t, r, imapconn.StepAuth, "does not offer AUTH=XOAUTH2", "--auth login or plain")
	})

	t.Run("json", func(t *testing.T) {
		r := imapconn.Probe(ctx, probeCfg(d, imapconn.SecuritySSL, true), true, nil)
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.Contains(s, probePassword) {
			t.Errorf("report shows the password: %s", s)
		}
		for _, key := range []string{`"OK":true`, `"Steps":[{"Name":"resolve","OK":true`, `"NotAfter":`, `"CapabilitiesAfterLogin":`, `"FolderCount":6`, `"ConnectMS":`} {
			if !strings.Contains(s, key) {
				t.Errorf("JSON lacks %s: %s", key, s)
			}
		}
	})
}

func slicesHasFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// fromOtherAddr forwards a local port to addr from the source address
// 127.0.0.2. Dovecot treats a connection whose two ends have the same address
// as secured and never sends LOGINDISABLED on it; through this proxy it sees
// a plain connection from elsewhere.
func fromOtherAddr(t *testing.T, addr string) int {
	t.Helper()
	return fakeServer(t, func(c net.Conn) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 2 * time.Second}
		up, err := d.Dial("tcp", addr)
		if err != nil {
			t.Errorf("proxy: %v", err)
			return
		}
		defer up.Close()
		up.SetDeadline(time.Now().Add(5 * time.Second))
		done := make(chan struct{})
		go func() {
			io.Copy(up, c)
			up.(*net.TCPConn).CloseWrite()
			close(done)
		}()
		io.Copy(c, up)
		c.Close()
		<-done
	})
}

func TestProbeLoginDisabledBeforeTLS(t *testing.T) {
	d := testenv.StartDovecot(t, testenv.DovecotOptions{
		Users:       map[string]string{"alice": probePassword},
		ExtraConfig: "disable_plaintext_auth = yes",
	})
	ctx := context.Background()
	port := fromOtherAddr(t, d.Addr())
	cfg := func(sec imapconn.Security, auth imapconn.AuthMech) *imapconn.Config {
		c := probeCfg(d, sec, false)
		c.Port, c.Auth = port, auth
		return c
	}

	r := imapconn.Probe(ctx, cfg(imapconn.SecurityNone, imapconn.AuthLogin), true, nil)
	wantFailure(t, r, imapconn.StepAuth, "LOGINDISABLED", "use --security tls (STARTTLS on this port) or ssl (port 993)")
	if f, _ := feature(r, "LOGINDISABLED"); !f.Offered {
		t.Error("LOGINDISABLED feature not offered")
	}

	r = imapconn.Probe(ctx, cfg(imapconn.SecurityNone, imapconn.AuthPlain), true, nil)
	wantFailure(t, r, imapconn.StepAuth, "does not offer AUTH=PLAIN", "only over TLS")

	// The same server over STARTTLS is fine.
	r = imapconn.Probe(ctx, cfg(imapconn.SecurityStartTLS, imapconn.AuthLogin), true, nil)
	if !r.OK {
		t.Fatalf("tls: %+v", r.Steps)
	}
	if !strings.Contains(r.Steps[3].Detail, "LOGIN is disabled until TLS") {
		t.Errorf("starttls step = %+v", r.Steps[3])
	}
	if f, _ := feature(r, "LOGINDISABLED"); f.Offered {
		t.Error("LOGINDISABLED offered after STARTTLS")
	}
}

func TestProbeConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg := &imapconn.Config{Host: "127.0.0.1", Port: port, Security: imapconn.SecuritySSL, DialTimeout: 2 * time.Second}
	r := imapconn.Probe(context.Background(), cfg, false, nil)
	wantFailure(t, r, imapconn.StepConnect, "connection refused", "--port")
	if r.Port != port {
		t.Errorf("port = %d", r.Port)
	}
}

func TestProbeDNSFailure(t *testing.T) {
	cfg := &imapconn.Config{Host: "no-such-host.invalid", Security: imapconn.SecuritySSL, DialTimeout: 2 * time.Second}
	r := imapconn.Probe(context.Background(), cfg, false, nil)
	wantFailure(t, r, imapconn.StepResolve, "no-such-host.invalid", "DNS")
	if r.Port != 993 {
		t.Errorf("port = %d, want the ssl default 993", r.Port)
	}
}

func TestProbeSettings(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  imapconn.Config
		want string
	}{
		{"no host", imapconn.Config{Security: imapconn.SecuritySSL}, "host name"},
		{"bad security", imapconn.Config{Host: "h", Security: "starttls"}, "--security"},
		{"bad auth", imapconn.Config{Host: "h", Security: imapconn.SecuritySSL, Auth: "cram-md5"}, "--auth"},
		{"missing CA file", imapconn.Config{Host: "h", Security: imapconn.SecuritySSL, CAFile: "/nonexistent/ca.pem"}, "--ca-file"},
		{"login needs a password", imapconn.Config{Host: "h", Security: imapconn.SecuritySSL, Auth: imapconn.AuthLogin, User: "u"}, "correct the setting"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := imapconn.Probe(context.Background(), &tt.cfg, tt.name == "login needs a password", nil)
			wantFailure(t, r, imapconn.StepSettings, "", tt.want)
			if len(r.Steps) != 1 {
				t.Errorf("steps = %s", stepNames(r))
			}
		})
	}
}

// testCert makes a certificate for names signed by a new CA, valid from
// notBefore to notAfter, and returns it with the CA's PEM file.
func testCert(t *testing.T, names []string, notBefore, notAfter time.Time) (tls.Certificate, string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		Subject:   pkix.Name{CommonName: "probe test CA"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		Subject:   pkix.Name{CommonName: names[0]},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}

// fakeServer accepts connections on 127.0.0.1 and hands each to serve.
func fakeServer(t *testing.T, serve func(net.Conn)) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				serve(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// tlsIMAP serves implicit TLS with cert, then a minimal IMAP pre-login dialogue.
func tlsIMAP(cert tls.Certificate) func(net.Conn) {
	return func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		if tc.Handshake() != nil {
			return
		}
		tc.Write([]byte("* OK fake ready\r\n"))
		br := bufio.NewReader(tc)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			tag, cmd, _ := strings.Cut(strings.TrimSpace(line), " ")
			switch strings.ToUpper(cmd) {
			case "CAPABILITY":
				tc.Write([]byte("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + " OK done\r\n"))
			case "LOGOUT":
				tc.Write([]byte("* BYE\r\n" + tag + " OK bye\r\n"))
				return
			default:
				tc.Write([]byte(tag + " BAD no\r\n"))
			}
		}
	}
}

func TestProbeCertificates(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name                string
		names               []string
		notBefore, notAfter time.Time
		ok                  bool
		detail, fix         string
		warning             string
	}{
		{name: "valid", names: []string{"127.0.0.1"}, notBefore: now.Add(-time.Hour), notAfter: now.Add(365 * 24 * time.Hour), ok: true},
		{name: "expires soon", names: []string{"127.0.0.1"}, notBefore: now.Add(-time.Hour), notAfter: now.Add(5*24*time.Hour + time.Hour), ok: true,
			warning: "in 5 days"},
		{name: "expired", names: []string{"127.0.0.1"}, notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-24 * time.Hour),
			detail: "certificate expired on " + now.Add(-24*time.Hour).UTC().Format("2006-01-02"), fix: "renewed"},
		{name: "not yet valid", names: []string{"127.0.0.1"}, notBefore: now.Add(24 * time.Hour), notAfter: now.Add(48 * time.Hour),
			detail: "not valid before", fix: "clock"},
		{name: "wrong host", names: []string{"mail.example.org", "192.0.2.1"}, notBefore: now.Add(-time.Hour), notAfter: now.Add(24 * time.Hour),
			detail: "certificate is for mail.example.org, 192.0.2.1, not 127.0.0.1", fix: "reissued for 127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cert, caFile := testCert(t, tt.names, tt.notBefore, tt.notAfter)
			port := fakeServer(t, tlsIMAP(cert))
			cfg := &imapconn.Config{Host: "127.0.0.1", Port: port, Security: imapconn.SecuritySSL, CAFile: caFile, DialTimeout: 2 * time.Second}
			r := imapconn.Probe(context.Background(), cfg, false, nil)
			if r.TLS == nil || r.TLS.Certificate == nil || r.TLS.Certificate.SANs[0] != tt.names[0] {
				t.Fatalf("tls = %+v, steps %+v", r.TLS, r.Steps)
			}
			if tt.ok {
				if !r.OK || !r.TLS.Verified {
					t.Fatalf("probe failed: %+v", r.Steps)
				}
				if w := strings.Join(r.Warnings, "\n"); tt.warning != "" && !strings.Contains(w, tt.warning) || tt.warning == "" && w != "" {
					t.Errorf("warnings = %q, want %q", w, tt.warning)
				}
				return
			}
			wantFailure(t, r, imapconn.StepTLS, tt.detail, tt.fix)
			if r.TLS.Verified {
				t.Error("verified")
			}
		})
	}
}

func TestProbeNotIMAP(t *testing.T) {
	port := fakeServer(t, func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n")) })
	cfg := &imapconn.Config{Host: "127.0.0.1", Port: port, Security: imapconn.SecurityNone, DialTimeout: 2 * time.Second}
	r := imapconn.Probe(context.Background(), cfg, false, nil)
	wantFailure(t, r, imapconn.StepGreeting, `"SSH-2.0-OpenSSH_9.6"`, "not an IMAP server")

	port = fakeServer(t, func(c net.Conn) { c.Write([]byte("* BYE too many connections\r\n")) })
	cfg.Port = port
	r = imapconn.Probe(context.Background(), cfg, false, nil)
	wantFailure(t, r, imapconn.StepGreeting, "too many connections", "try again later")
}

func TestProbeCanceled(t *testing.T) {
	// A server that accepts and says nothing: the probe ends with ctx.
	port := fakeServer(t, func(c net.Conn) { c.Read(make([]byte, 1)) })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	cfg := &imapconn.Config{Host: "127.0.0.1", Port: port, Security: imapconn.SecurityNone, DialTimeout: time.Minute}
	start := time.Now()
	r := imapconn.Probe(ctx, cfg, false, nil)
	if r.OK || time.Since(start) > 3*time.Second {
		t.Fatalf("ok %v after %s: %+v", r.OK, time.Since(start), r.Steps)
	}
}
