package imapconn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Probe step names, in the order they run. Which steps appear depends on the
// security mode (tls adds starttls; none has no tls step) and on login; the
// first failing step is the last one.
const (
	StepSettings   = "settings"   // only when the settings cannot work
	StepResolve    = "resolve"    // DNS lookup of the host
	StepConnect    = "connect"    // TCP connection
	StepTLS        = "tls"        // TLS handshake and certificate check (ssl, tls)
	StepGreeting   = "greeting"   // the server's first line
	StepSTARTTLS   = "starttls"   // STARTTLS command (tls)
	StepCapability = "capability" // pre-login CAPABILITY
	StepAuth       = "auth"       // the configured login method is allowed on this connection
	StepLogin      = "login"      // log in with the configuration (login only)
	StepFolders    = "folders"    // LIST "" "*" (login only)
)

// ProbeReport is what Probe found out about one server: the steps it ran, in
// order, and the facts it collected. It holds no password or token.
type ProbeReport struct {
	Host     string   `json:"RemoteServer"`
	Port     int      `json:"Port"`
	Security Security `json:"Security"`
	User     string   `json:"User,omitempty"` // set when the probe logs in
	// OK is true when every step passed.
	OK       bool        `json:"OK"`
	Steps    []ProbeStep `json:"Steps"`
	Warnings []string    `json:"Warnings,omitempty"`

	// Addresses are what the host name resolved to.
	Addresses []string `json:"Addresses,omitempty"`
	// RemoteAddr is the address the connection reached.
	RemoteAddr string `json:"RemoteAddr,omitempty"`
	// ConnectMS is how long the TCP connection took, in milliseconds.
	ConnectMS float64 `json:"ConnectMS,omitempty"`
	// TLS is set once a TLS handshake was tried (ssl, tls).
	TLS *ProbeTLS `json:"TLS,omitempty"`
	// Greeting is the server's first line (truncated).
	Greeting string `json:"Greeting,omitempty"`
	// CapabilitiesBeforeTLS is the CAPABILITY list before STARTTLS (tls only).
	CapabilitiesBeforeTLS []string `json:"CapabilitiesBeforeTLS,omitempty"`
	// Capabilities is the pre-login CAPABILITY list on the connection as it
	// will be used (after TLS).
	Capabilities []string `json:"Capabilities,omitempty"`
	// AuthMechanisms are the SASL mechanisms offered before login (AUTH=…).
	AuthMechanisms []string `json:"AuthMechanisms,omitempty"`
	// CapabilitiesAfterLogin is the CAPABILITY list once logged in.
	CapabilitiesAfterLogin []string `json:"CapabilitiesAfterLogin,omitempty"`
	// Features says, for each capability that matters to a migration,
	// whether the server offers it (after login when the probe logged in).
	Features []ProbeFeature `json:"Features,omitempty"`

	LoggedIn bool `json:"LoggedIn"`
	// FolderCount is the number of folders LIST "" "*" returned (after login).
	FolderCount int `json:"FolderCount,omitempty"`
	// Delimiter is the hierarchy delimiter of the listed folders.
	Delimiter string `json:"Delimiter,omitempty"`
}

// ProbeStep is one check: what was done, whether it worked, what was seen
// and, on failure, the likely fix.
type ProbeStep struct {
	Name   string `json:"Name"`
	OK     bool   `json:"OK"`
	Detail string `json:"Detail,omitempty"`
	Fix    string `json:"Fix,omitempty"`
}

// ProbeTLS describes the TLS session and the server's certificate.
type ProbeTLS struct {
	Version     string `json:"Version,omitempty"` // "TLS 1.3"; empty when the handshake failed
	CipherSuite string `json:"CipherSuite,omitempty"`
	// Verified: the certificate chains to a trusted CA and names the host.
	Verified    bool              `json:"Verified"`
	VerifyError string            `json:"VerifyError,omitempty"`
	Certificate *ProbeCertificate `json:"Certificate,omitempty"`
}

// ProbeCertificate is the server's (leaf) certificate.
type ProbeCertificate struct {
	Subject   string    `json:"Subject"`
	Issuer    string    `json:"Issuer"`
	SANs      []string  `json:"SANs,omitempty"` // DNS names, then IP addresses
	NotBefore time.Time `json:"NotBefore"`
	NotAfter  time.Time `json:"NotAfter"`
	SHA256    string    `json:"SHA256"` // fingerprint of the DER certificate, hex
}

// ProbeFeature is one capability that matters and what it is good for.
type ProbeFeature struct {
	Name    string `json:"Name"`
	Offered bool   `json:"Offered"`
	Note    string `json:"Note"`
}

// FirstFailure returns the failed step, or nil when all passed.
func (r *ProbeReport) FirstFailure() *ProbeStep {
	for i := range r.Steps {
		if !r.Steps[i].OK {
			return &r.Steps[i]
		}
	}
	return nil
}

// probeFeatures are the capabilities worth showing, in display order.
var probeFeatures = []struct{ name, note string }{
	{"IMAP4rev1", "the IMAP protocol (RFC 3501)"},
	{"IMAP4rev2", "IMAP4rev2 (RFC 9051): UTF-8 folder names"},
	{"UIDPLUS", "the target reports new messages' UIDs: crash-safe copy without searching"},
	{"LITERAL+", "messages are sent without waiting for the server's go-ahead"},
	{"LITERAL-", "as LITERAL+, for messages up to 4 KiB"},
	{"MULTIAPPEND", "several messages per APPEND: fewer round trips"},
	{"CONDSTORE", "incremental syncs fetch only changed flags (MODSEQ)"},
	{"QRESYNC", "quick resynchronisation of changes and expunges"},
	{"SPECIAL-USE", "Sent, Trash, Drafts… are marked, not guessed from their names"},
	{"COMPRESS=DEFLATE", "compressed transfer"},
	{"NAMESPACE", "the server names its folder prefix and separator"},
	{"LIST-EXTENDED", "LIST with selection and return options"},
	{"STARTTLS", "this port can switch to TLS (--security tls)"},
	{"LOGINDISABLED", "LOGIN is refused on this connection"},
}

// Probe checks, step by step, that cfg's server can be reached and used, and
// says for each failure what failed and the likely fix: what `imapmigrate
// endpoint test` shows, like Exchange Online's Test-MigrationServerAvailability.
// It resolves the host, connects, negotiates TLS as cfg.Security says,
// reads the greeting and the capabilities, and checks that the configured
// login method is allowed. When login is true it then logs in with Connect
// and lists the folders. It stops at the first failing step.
//
// Each network step is bounded by cfg.DialTimeout, login and LIST by
// cfg.CommandTimeout, and all by ctx. No password appears in the report or
// in log lines.
func Probe(ctx context.Context, cfg *Config, login bool, log *slog.Logger) *ProbeReport {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &ProbeReport{Host: cfg.Host, Security: cfg.Security}
	if _, port, err := net.SplitHostPort(cfg.Address()); err == nil {
		r.Port, _ = strconv.Atoi(port)
	}
	if login {
		r.User = cfg.User
	}
	p := &prober{ctx: ctx, cfg: cfg, log: log, r: r, timeout: cfg.dialTimeout()}
	p.run(login)
	p.close()
	r.Features = features(r)
	r.OK = len(r.Steps) > 0 && r.FirstFailure() == nil
	return r
}

type prober struct {
	ctx     context.Context
	cfg     *Config
	log     *slog.Logger
	r       *ProbeReport
	timeout time.Duration
	tlsCfg  *tls.Config

	raw  net.Conn // the TCP connection
	conn net.Conn // raw or TLS over it, traced
	br   *bufio.Reader
	tag  int
	stop func() bool // ends the context.AfterFunc that closes raw
}

func (p *prober) pass(name, detail string) {
	p.r.Steps = append(p.r.Steps, ProbeStep{Name: name, OK: true, Detail: detail})
	p.log.Debug("probe step passed", "step", name, "detail", detail)
}

func (p *prober) fail(name, detail, fix string) {
	p.r.Steps = append(p.r.Steps, ProbeStep{Name: name, Detail: detail, Fix: fix})
	p.log.Debug("probe step failed", "step", name, "detail", detail, "fix", fix)
}

func (p *prober) warn(format string, args ...any) {
	p.r.Warnings = append(p.r.Warnings, fmt.Sprintf(format, args...))
}

// flag names a setting the way the user changes it (Config.Flag).
func (p *prober) flag(name string) string { return p.cfg.flag(name) }

func (p *prober) run(login bool) {
	if !p.settings(login) || !p.resolve() || !p.connect() {
		return
	}
	switch p.cfg.Security {
	case SecuritySSL:
		if !p.handshake() || !p.greeting() {
			return
		}
	case SecurityStartTLS:
		if !p.greeting() || !p.starttls() || !p.handshake() {
			return
		}
	default:
		if !p.greeting() {
			return
		}
	}
	if !p.capability() {
		return
	}
	p.logout()
	if !p.authAllowed() || !login {
		return
	}
	p.login()
}

// settings checks what can be checked without the network.
func (p *prober) settings(login bool) bool {
	cfg := p.cfg
	if cfg.Host == "" {
		p.fail(StepSettings, "no server host name", "give the IMAP server's host name")
		return false
	}
	switch cfg.Security {
	case SecurityNone, SecuritySSL, SecurityStartTLS:
	default:
		p.fail(StepSettings, fmt.Sprintf("security %q is not a security mode", cfg.Security),
			p.flag("security")+" must be none, ssl (implicit TLS, port 993) or tls (STARTTLS, port 143)")
		return false
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		p.fail(StepSettings, fmt.Sprintf("port %d is out of range", cfg.Port), p.flag("port")+" must be between 1 and 65535")
		return false
	}
	if _, ok := saslName(p.authMech()); !ok {
		p.fail(StepSettings, fmt.Sprintf("auth %q is not an authentication method", cfg.Auth),
			p.flag("auth")+" must be login, plain, xoauth2 or oauthbearer")
		return false
	}
	if login {
		if err := cfg.Validate(); err != nil {
			p.fail(StepSettings, err.Error(), "correct the setting named")
			return false
		}
	}
	if cfg.Security != SecurityNone {
		tc, err := cfg.tlsConfig()
		if err != nil {
			p.fail(StepSettings, err.Error(), p.flag("ca-file")+" must name a readable PEM file of CA certificates")
			return false
		}
		p.tlsCfg = tc
	}
	return true
}

func (p *prober) authMech() AuthMech {
	if p.cfg.Auth == "" {
		return AuthLogin
	}
	return p.cfg.Auth
}

// saslName returns the SASL name of mech, "" for LOGIN.
func saslName(mech AuthMech) (string, bool) {
	switch mech {
	case AuthLogin:
		return "", true
	case AuthPlain:
		return "PLAIN", true
	case AuthXOAUTH2:
		return "XOAUTH2", true
	case AuthOAuthBearer:
		return "OAUTHBEARER", true
	}
	return "", false
}

func (p *prober) resolve() bool {
	host := p.cfg.Host
	if ip := net.ParseIP(host); ip != nil {
		p.r.Addresses = []string{ip.String()}
		p.pass(StepResolve, "an IP address: nothing to look up")
		return true
	}
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		var de *net.DNSError
		switch {
		case errors.As(err, &de) && de.IsNotFound:
			p.fail(StepResolve, fmt.Sprintf("the host name %q does not exist in DNS (%v)", host, err),
				"check the spelling of the server name, or this machine's DNS settings")
		case errors.As(err, &de) && de.IsTimeout, errors.Is(err, context.DeadlineExceeded):
			p.fail(StepResolve, fmt.Sprintf("no DNS answer for %q within %s (%v)", host, p.timeout, err),
				"check this machine's DNS settings (/etc/resolv.conf) and that its DNS server is reachable")
		default:
			p.fail(StepResolve, fmt.Sprintf("look up %q: %v", host, err),
				"check the server name and this machine's DNS settings")
		}
		return false
	}
	p.r.Addresses = addrs
	p.pass(StepResolve, strings.Join(addrs, ", "))
	return true
}

func (p *prober) connect() bool {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	start := time.Now()
	raw, err := d.DialContext(ctx, "tcp", p.cfg.Address())
	if err != nil {
		port := strconv.Itoa(p.r.Port)
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			p.fail(StepConnect, fmt.Sprintf("connection refused by %s: nothing listens on port %s (%v)", p.cfg.Host, port, err),
				fmt.Sprintf("check %s (IMAP uses 143 for none and tls, 993 for ssl) and that the IMAP server is running; a firewall may also refuse the connection", p.flag("port")))
		case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
			p.fail(StepConnect, fmt.Sprintf("no route to %s (%v)", p.cfg.Address(), err),
				"check the server address and this machine's network and firewall")
		case isTimeout(err):
			p.fail(StepConnect, fmt.Sprintf("no answer from %s within %s", p.cfg.Address(), p.timeout),
				fmt.Sprintf("a firewall may drop the connection, or the host is down: check that port %s is open from this machine", port))
		default:
			p.fail(StepConnect, fmt.Sprintf("connect to %s: %v", p.cfg.Address(), err),
				"check the server name, the port and the network path")
		}
		return false
	}
	elapsed := time.Since(start)
	p.raw = raw
	p.conn = withTrace(raw, p.log)
	p.br = bufio.NewReader(p.conn)
	p.stop = context.AfterFunc(p.ctx, func() { raw.Close() })
	p.r.RemoteAddr = raw.RemoteAddr().String()
	p.r.ConnectMS = math.Round(float64(elapsed.Microseconds())/10) / 100
	p.pass(StepConnect, fmt.Sprintf("connected to %s in %s", p.r.RemoteAddr, elapsed.Round(10*time.Microsecond)))
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// close ends the probe's own connection, if still open.
func (p *prober) close() {
	if p.stop != nil {
		p.stop()
	}
	if p.raw != nil {
		p.raw.Close()
		p.raw = nil
	}
}

func (p *prober) deadline() {
	p.conn.SetDeadline(time.Now().Add(p.timeout))
}

// handshake runs the TLS handshake on the TCP connection and records the
// session and the certificate.
func (p *prober) handshake() bool {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	tc := tls.Client(p.raw, p.tlsCfg)
	err := tc.HandshakeContext(ctx)
	if err != nil {
		detail, fix := p.explainTLS(err)
		p.fail(StepTLS, detail, fix)
		return false
	}
	st := tc.ConnectionState()
	info := &ProbeTLS{Version: tls.VersionName(st.Version), CipherSuite: tls.CipherSuiteName(st.CipherSuite), Verified: true}
	if len(st.PeerCertificates) > 0 {
		info.Certificate = certFacts(st.PeerCertificates[0])
	}
	p.r.TLS = info
	detail := info.Version
	if p.cfg.InsecureSkipVerify {
		// Verification was off: check anyway, to say whether it would pass.
		info.Verified = false
		if verr := p.verify(st.PeerCertificates); verr != nil {
			info.VerifyError = verr.Error()
			p.warn("certificate verification is off (%s), and the certificate would not verify: %v", p.flag("insecure-skip-verify"), verr)
		} else {
			info.Verified = true
			p.warn("certificate verification is off (%s) although the certificate verifies: drop the flag", p.flag("insecure-skip-verify"))
		}
		detail += ", certificate NOT verified"
	} else {
		detail += ", certificate verified"
	}
	if c := info.Certificate; c != nil {
		detail += fmt.Sprintf(": %s, issued by %s, expires %s", c.Subject, c.Issuer, c.NotAfter.UTC().Format(time.DateOnly))
		if left := time.Until(c.NotAfter); left < 14*24*time.Hour {
			p.warn("the server's certificate expires on %s, in %d days", c.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24))
		}
	}
	p.pass(StepTLS, detail)
	p.conn = withTrace(tc, p.log)
	p.br = bufio.NewReader(p.conn)
	return true
}

// verify checks certs as the TLS client would have.
func (p *prober) verify(certs []*x509.Certificate) error {
	if len(certs) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: p.tlsCfg.RootCAs, Intermediates: inter, DNSName: p.tlsCfg.ServerName})
	return err
}

func certFacts(c *x509.Certificate) *ProbeCertificate {
	sum := sha256.Sum256(c.Raw)
	f := &ProbeCertificate{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		NotBefore: c.NotBefore, NotAfter: c.NotAfter, SHA256: hex.EncodeToString(sum[:]),
		SANs: slices.Clone(c.DNSNames),
	}
	for _, ip := range c.IPAddresses {
		f.SANs = append(f.SANs, ip.String())
	}
	return f
}

// explainTLS says why a handshake failed, and what to do.
func (p *prober) explainTLS(err error) (detail, fix string) {
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	var oe *net.OpError
	ssl := p.cfg.Security == SecuritySSL
	switch {
	case errors.As(err, &cv):
		p.r.TLS = &ProbeTLS{VerifyError: cv.Err.Error()}
		if len(cv.UnverifiedCertificates) > 0 {
			p.r.TLS.Certificate = certFacts(cv.UnverifiedCertificates[0])
		}
		return explainCert(p.cfg, cv, p.flag("ca-file"))
	case errors.As(err, &rh):
		head := rh.RecordHeader[:]
		if bytes.HasPrefix(head, []byte("* ")) || isText(head) {
			detail = fmt.Sprintf("the server answered in plain text (%q…), not with TLS", string(head))
			if ssl {
				return detail, fmt.Sprintf("this port speaks plain IMAP: use %s tls or none, or port 993 for ssl", p.flag("security"))
			}
			return detail, "the server did not switch to TLS after STARTTLS: it is broken, or something on the path interferes"
		}
		return fmt.Sprintf("the server's answer is not TLS (%v)", err), "check " + p.flag("port") + ": 993 for ssl, 143 for tls"
	case errors.As(err, &oe) && oe.Op == "remote error":
		return fmt.Sprintf("the server refused the TLS handshake (%v)", err),
			"the server may only offer TLS versions or ciphers older than TLS 1.2, or want a client certificate: check its TLS settings"
	case isTimeout(err):
		detail = fmt.Sprintf("no TLS answer within %s", p.timeout)
		if ssl {
			return detail, fmt.Sprintf("this port may not speak TLS: use %s tls or none on port 143, or check %s", p.flag("security"), p.flag("port"))
		}
		return detail, "the server accepted STARTTLS but did not complete the handshake: check its TLS settings and logs"
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return fmt.Sprintf("the server closed the connection during the TLS handshake (%v)", err),
			"the port may not speak TLS, or the server's TLS settings reject this client (it needs TLS 1.2 or later): check the server's log"
	}
	return fmt.Sprintf("TLS handshake: %v", err), "check the server's TLS settings and log"
}

// explainCert says why the server's certificate was refused.
func explainCert(cfg *Config, cv *tls.CertificateVerificationError, caFlag string) (detail, fix string) {
	var leaf *x509.Certificate
	if len(cv.UnverifiedCertificates) > 0 {
		leaf = cv.UnverifiedCertificates[0]
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(cv.Err, &ci) && ci.Reason == x509.Expired && leaf != nil:
		now := time.Now()
		if now.Before(leaf.NotBefore) {
			return fmt.Sprintf("the server's certificate is not valid before %s (now: %s)", leaf.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)),
				"check this machine's clock, or the certificate's dates"
		}
		if now.After(leaf.NotAfter) {
			return fmt.Sprintf("the server's certificate expired on %s", leaf.NotAfter.UTC().Format(time.RFC3339)),
				"have the server's certificate renewed, or check this machine's clock"
		}
		return fmt.Sprintf("a certificate in the server's chain has expired (%v)", cv.Err), "have the server's certificate chain renewed"
	case errors.As(cv.Err, &ci) && ci.Reason == x509.Expired:
		return fmt.Sprintf("the server's certificate has expired (%v)", cv.Err), "have the server's certificate renewed, or check this machine's clock"
	case errors.As(cv.Err, &hn):
		names := "no names"
		if leaf != nil {
			if sans := certFacts(leaf).SANs; len(sans) > 0 {
				names = strings.Join(sans, ", ")
			} else if leaf.Subject.CommonName != "" {
				names = leaf.Subject.CommonName + " (common name only, which is no longer accepted)"
			}
		}
		return fmt.Sprintf("the server's certificate is for %s, not %s", names, cfg.Host),
			"connect by a name the certificate holds, or have the certificate reissued for " + cfg.Host
	case errors.As(cv.Err, &ua):
		issuer := ""
		if leaf != nil {
			issuer = leaf.Issuer.String()
		}
		if leaf != nil && bytes.Equal(leaf.RawIssuer, leaf.RawSubject) {
			return fmt.Sprintf("the server's certificate is self-signed (%s): it is not trusted", issuer),
				fmt.Sprintf("give that certificate with %s (PEM), or have the server use a certificate from a trusted CA", caFlag)
		}
		return fmt.Sprintf("the server's certificate was issued by %q, which this machine does not trust", issuer),
			fmt.Sprintf("give that CA's certificate with %s (PEM)", caFlag)
	}
	return fmt.Sprintf("the server's certificate was refused: %v", cv.Err), fmt.Sprintf("check the certificate; give its CA with %s", caFlag)
}

func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\r' && c != '\n' && c != '\t' || c > 0x7e {
			return false
		}
	}
	return true
}

// greeting reads the server's first line. A server that says nothing may be
// waiting for a TLS handshake; greeting then checks, on a second connection.
func (p *prober) greeting() bool {
	p.deadline()
	line, err := p.br.ReadSlice('\n')
	text := strings.TrimRight(string(line), "\r\n")
	ssl := p.cfg.Security == SecuritySSL
	if err != nil {
		switch {
		case len(line) > 0 && !strings.HasPrefix(text, "* "):
			// Fall through to the garbage check below.
		case isTimeout(err) && len(line) == 0:
			detail := fmt.Sprintf("the server sent no greeting within %s", p.timeout)
			if !ssl {
				if p.speaksTLS() {
					p.fail(StepGreeting, detail+"; it answers a TLS handshake", fmt.Sprintf("this port expects TLS: use %s ssl (or, for tls, the STARTTLS port 143)", p.flag("security")))
				} else {
					p.fail(StepGreeting, detail, fmt.Sprintf("this port may expect TLS (%s ssl), or the server is overloaded", p.flag("security")))
				}
				return false
			}
			p.fail(StepGreeting, detail+" after the TLS handshake", "the server may be overloaded: check its log")
			return false
		case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
			detail := "the server closed the connection before its greeting"
			if !ssl {
				p.fail(StepGreeting, detail, fmt.Sprintf("this port may expect TLS (%s ssl); else the server refuses this address (connection limits, block lists): check its log", p.flag("security")))
			} else {
				p.fail(StepGreeting, detail+" after the TLS handshake", "the server refuses this address (connection limits, block lists): check its log")
			}
			return false
		default:
			p.fail(StepGreeting, fmt.Sprintf("read the greeting: %v", err), "check that this port is an IMAP server's")
			return false
		}
	}
	p.r.Greeting = truncate(text, 200)
	switch {
	case hasPrefixFold(text, "* OK"):
	case hasPrefixFold(text, "* PREAUTH"):
		if p.cfg.Security == SecurityStartTLS {
			p.fail(StepGreeting, "the server sent PREAUTH on a connection that must use STARTTLS: it cannot switch to TLS any more",
				fmt.Sprintf("use %s ssl with the implicit-TLS port (993)", p.flag("security")))
			return false
		}
	case hasPrefixFold(text, "* BYE"):
		p.fail(StepGreeting, "the server refused the session: "+truncate(text, 200),
			"the server may be overloaded or limit connections from this address: try again later, or check its log")
		return false
	default:
		fix := fmt.Sprintf("this is not an IMAP server: check %s (143 for none and tls, 993 for ssl)", p.flag("port"))
		if !ssl && len(line) > 0 && (line[0] == 0x15 || line[0] == 0x16) {
			fix = fmt.Sprintf("this port expects TLS: use %s ssl", p.flag("security"))
		}
		p.fail(StepGreeting, fmt.Sprintf("not an IMAP greeting: %q", truncate(text, 80)), fix)
		return false
	}
	p.pass(StepGreeting, p.r.Greeting)
	return true
}

// speaksTLS reports whether the server's port completes (or refuses with a
// TLS alert) a TLS handshake, on a second connection.
func (p *prober) speaksTLS() bool {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.cfg.Address())
	if err != nil {
		return false
	}
	defer raw.Close()
	// Only whether it speaks TLS matters here, not whom it claims to be.
	tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, ServerName: p.cfg.Host})
	err = tc.HandshakeContext(ctx)
	var oe *net.OpError
	return err == nil || errors.As(err, &oe) && oe.Op == "remote error"
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// command sends a command without arguments and returns its tagged status
// and the capabilities the server announced on the way.
func (p *prober) command(name string) (status, []string, error) {
	p.tag++
	tag := "P" + strconv.Itoa(p.tag)
	p.deadline()
	if _, err := io.WriteString(p.conn, tag+" "+name+"\r\n"); err != nil {
		return status{}, nil, err
	}
	var caps []string
	for {
		line, err := readResponse(p.br)
		if err != nil {
			return status{}, nil, err
		}
		if rest, ok := strings.CutPrefix(line, "* "); ok {
			if hasPrefixFold(rest, "CAPABILITY ") {
				caps = strings.Fields(rest[len("CAPABILITY "):])
			}
			continue
		}
		t, rest, _ := strings.Cut(line, " ")
		if t != tag {
			continue
		}
		st := parseStatus(rest)
		if caps == nil && hasPrefixFold(st.code, "CAPABILITY ") {
			caps = strings.Fields(st.code[len("CAPABILITY "):])
		}
		return st, caps, nil
	}
}

// starttls asks for TLS on the plain connection.
func (p *prober) starttls() bool {
	st, caps, err := p.command("CAPABILITY")
	if err != nil || st.typ != "OK" {
		p.fail(StepSTARTTLS, "CAPABILITY before STARTTLS: "+statusText(st, err), "check the server's log")
		return false
	}
	p.r.CapabilitiesBeforeTLS = caps
	offered := hasCap(caps, "STARTTLS")
	st, _, err = p.command("STARTTLS")
	if err != nil {
		p.fail(StepSTARTTLS, "STARTTLS: "+err.Error(), "check the server's log")
		return false
	}
	if st.typ != "OK" {
		detail := "the server refused STARTTLS: " + statusText(st, nil)
		if !offered {
			detail = "the server does not offer STARTTLS (" + statusText(st, nil) + ")"
		}
		p.fail(StepSTARTTLS, detail, fmt.Sprintf("use %s ssl with the implicit-TLS port (993), or none only on a trusted network", p.flag("security")))
		return false
	}
	if p.br.Buffered() > 0 {
		p.fail(StepSTARTTLS, "the server sent data after STARTTLS, before the TLS handshake (possible injection attack)",
			"do not use this path: check for a proxy or firewall rewriting IMAP")
		return false
	}
	detail := "STARTTLS accepted"
	if !offered {
		detail += " (although not advertised)"
	}
	if hasCap(caps, "LOGINDISABLED") {
		detail += "; LOGIN is disabled until TLS is on"
	}
	p.pass(StepSTARTTLS, detail)
	return true
}

func statusText(st status, err error) string {
	if err != nil {
		return err.Error()
	}
	s := st.typ
	if st.code != "" {
		s += " [" + st.code + "]"
	}
	if st.text != "" {
		s += " " + st.text
	}
	return s
}

func hasCap(caps []string, name string) bool {
	return slices.ContainsFunc(caps, func(c string) bool { return strings.EqualFold(c, name) })
}

// capability reads the pre-login capabilities.
func (p *prober) capability() bool {
	st, caps, err := p.command("CAPABILITY")
	if err != nil || st.typ != "OK" {
		p.fail(StepCapability, "CAPABILITY: "+statusText(st, err), "the server does not answer like an IMAP server: check its log")
		return false
	}
	p.r.Capabilities = caps
	for _, c := range caps {
		if m, ok := strings.CutPrefix(strings.ToUpper(c), "AUTH="); ok {
			p.r.AuthMechanisms = append(p.r.AuthMechanisms, m)
		}
	}
	if !hasCap(caps, "IMAP4rev1") && !hasCap(caps, "IMAP4rev2") {
		p.warn("the server announces neither IMAP4rev1 nor IMAP4rev2")
	}
	if p.cfg.Security == SecurityNone {
		who := p.cfg.Name
		if who == "" {
			who = "server"
		}
		msg := CleartextWarning(p.cfg.Security, who, p.cfg.Address(), p.flag("security"))
		if hasCap(caps, "STARTTLS") {
			msg += fmt.Sprintf("; the server offers STARTTLS: use %s tls", p.flag("security"))
		}
		p.warn("%s", msg)
	}
	p.pass(StepCapability, strings.Join(caps, " "))
	return true
}

// logout ends the probe's connection politely; login uses its own.
func (p *prober) logout() {
	p.command("LOGOUT")
	p.close()
}

// authAllowed checks that the configured login method can be used on this
// connection.
func (p *prober) authAllowed() bool {
	caps := p.r.Capabilities
	if hasPrefixFold(p.r.Greeting, "* PREAUTH") {
		p.pass(StepAuth, "the server logged the connection in already (PREAUTH)")
		return true
	}
	beforeTLS := fmt.Sprintf("use %s tls (STARTTLS on this port) or ssl (port 993)", p.flag("security"))
	if !hasCap(caps, "STARTTLS") {
		beforeTLS = fmt.Sprintf("use %s ssl (port 993)", p.flag("security"))
	}
	mech := p.authMech()
	name, _ := saslName(mech)
	if mech == AuthLogin {
		if !hasCap(caps, "LOGINDISABLED") {
			p.pass(StepAuth, "LOGIN allowed")
			return true
		}
		if p.cfg.Security == SecurityNone {
			p.fail(StepAuth, "the server refuses LOGIN before TLS (LOGINDISABLED)", beforeTLS)
			return false
		}
		p.fail(StepAuth, "the server refuses LOGIN on this connection (LOGINDISABLED)",
			fmt.Sprintf("use a SASL mechanism it offers (%s): %s", strings.Join(p.r.AuthMechanisms, ", "), p.authAlternatives()))
		return false
	}
	if hasCap(caps, "AUTH="+name) {
		p.pass(StepAuth, "AUTH="+name+" offered")
		return true
	}
	detail := fmt.Sprintf("the server does not offer AUTH=%s here (it offers %s)", name, orNone(p.r.AuthMechanisms))
	if p.cfg.Security == SecurityNone && (hasCap(caps, "LOGINDISABLED") || len(p.r.AuthMechanisms) == 0) {
		p.fail(StepAuth, detail, "the server may offer it only over TLS: "+beforeTLS)
		return false
	}
	p.fail(StepAuth, detail, p.authAlternatives())
	return false
}

// authAlternatives suggests --auth values the server accepts.
func (p *prober) authAlternatives() string {
	var alt []string
	if !hasCap(p.r.Capabilities, "LOGINDISABLED") {
		alt = append(alt, "login")
	}
	for _, m := range []AuthMech{AuthPlain, AuthXOAUTH2, AuthOAuthBearer} {
		if name, _ := saslName(m); hasCap(p.r.Capabilities, "AUTH="+name) {
			alt = append(alt, string(m))
		}
	}
	if len(alt) == 0 {
		return "the server offers no login method imapmigrate supports on this connection"
	}
	return fmt.Sprintf("use %s %s", p.flag("auth"), strings.Join(alt, " or "))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// login logs in with Connect, as a migration would, and lists the folders.
func (p *prober) login() {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout+p.cfg.commandTimeout())
	defer cancel()
	c, err := Connect(ctx, p.cfg, p.log)
	if err != nil {
		switch ClassOf(err) {
		case Auth:
			p.fail(StepLogin, err.Error(), fmt.Sprintf(
				"check the user name %q and its password for %s (for an admin login, the user name format the server expects, e.g. user*admin for Dovecot); the server's log may say why",
				p.cfg.User, p.cfg.Address()))
		case Transient:
			p.fail(StepLogin, err.Error(), "the server is busy or limits connections: try again later")
		default:
			p.fail(StepLogin, err.Error(), "see the detail; the server's log may say more")
		}
		return
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Client.Close() })
	defer stop()
	p.r.LoggedIn = true
	p.r.CapabilitiesAfterLogin = capList(c.Caps)
	p.pass(StepLogin, fmt.Sprintf("logged in as %q", p.cfg.User))

	mboxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		p.fail(StepFolders, `LIST "" "*": `+err.Error(), "the account may be broken on the server: check its log")
		return
	}
	p.r.FolderCount = len(mboxes)
	for _, m := range mboxes {
		if m.Delim != 0 {
			p.r.Delimiter = string(m.Delim)
			break
		}
	}
	noun := "folders"
	if len(mboxes) == 1 {
		noun = "folder"
	}
	p.pass(StepFolders, fmt.Sprintf("%d %s", len(mboxes), noun))
}

func capList(caps imap.CapSet) []string {
	var out []string
	for c := range caps {
		out = append(out, string(c))
	}
	slices.Sort(out)
	return out
}

// features evaluates probeFeatures on the best capability list known: after
// login when logged in; LOGINDISABLED from before login, STARTTLS from before
// login and before TLS.
func features(r *ProbeReport) []ProbeFeature {
	if r.Capabilities == nil {
		return nil
	}
	main := r.Capabilities
	if r.CapabilitiesAfterLogin != nil {
		main = r.CapabilitiesAfterLogin
	}
	out := make([]ProbeFeature, 0, len(probeFeatures))
	for _, f := range probeFeatures {
		caps := main
		switch f.name {
		case "STARTTLS":
			caps = r.Capabilities
			if r.CapabilitiesBeforeTLS != nil {
				caps = r.CapabilitiesBeforeTLS
			}
		case "LOGINDISABLED":
			caps = r.Capabilities
		}
		out = append(out, ProbeFeature{Name: f.name, Offered: hasCap(caps, f.name), Note: f.note})
	}
	return out
}
