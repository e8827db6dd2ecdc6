package imapconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Class says what a caller should do about an error.
type Class int

const (
	// Fatal: neither retrying nor skipping helps (protocol violation, bad
	// configuration, a folder the target refuses to create).
	Fatal Class = iota
	// Auth: the account cannot log in; permanent for that account.
	Auth
	// Transient: the connection or server is temporarily unusable (network
	// error, BYE, [UNAVAILABLE], throttling); reconnect with back-off.
	Transient
	// Item: the server rejected one message; skip it and record why.
	Item
)

func (c Class) String() string {
	switch c {
	case Auth:
		return "auth"
	case Transient:
		return "transient"
	case Item:
		return "item"
	}
	return "fatal"
}

// Error is an error with its class and, for throttling, the wait the server
// suggested.
type Error struct {
	Class   Class
	Op      string        // what was being done: "login", "append to \"INBOX\""
	Backoff time.Duration // server-suggested wait, 0 if none
	Err     error
}

func (e *Error) Error() string {
	if e.Op == "" {
		return e.Err.Error()
	}
	return e.Op + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of err: the one it carries, or the one Classify
// gives it.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Classify(err, false).Class
}

// SuggestedBackoff returns the wait a server asked for, if any.
func SuggestedBackoff(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.Backoff
	}
	return 0
}

var backoffHint = regexp.MustCompile(`(?i)backoff time:\s*(\d+)\s*milliseconds`)

// transientText matches server texts that mean "later", for servers that do
// not send a response code.
var transientText = regexp.MustCompile(`(?i)throttl|too many (simultaneous |concurrent )?connections|try again later|temporar|server busy|unavailable`)

// Classify wraps err with its class. item says whether the command acted on
// one message (APPEND), so that a plain NO means "this message" and not
// "this connection".
func Classify(err error, item bool) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	out := &Error{Class: Fatal, Err: err}
	var ie *imap.Error
	switch {
	case errors.As(err, &ie):
		out.Class = classifyStatus(string(ie.Type), string(ie.Code), ie.Text, item)
		if m := backoffHint.FindStringSubmatch(ie.Text); m != nil {
			ms, _ := strconv.Atoi(m[1])
			out.Backoff = time.Duration(ms) * time.Millisecond
		}
	case isNetwork(err):
		out.Class = Transient
	}
	return out
}

// classifyStatus maps a NO/BAD/BYE with its code and text to a class.
func classifyStatus(typ, code, text string, item bool) Class {
	switch strings.ToUpper(code) {
	case "AUTHENTICATIONFAILED", "AUTHORIZATIONFAILED", "EXPIRED", "PRIVACYREQUIRED":
		return Auth
	case "UNAVAILABLE", "INUSE", "OVERQUOTA", "SERVERBUG", "THROTTLED":
		return Transient
	case "LIMIT":
		// RFC 5530: an artificial limit. On APPEND it is the message's
		// (Dovecot: "Mail size is larger than the maximum size"); elsewhere
		// it is the session's (too many connections).
		if item {
			return Item
		}
		return Transient
	case "TOOBIG", "PARSE", "CANNOT", "CORRUPTION", "UNKNOWN-CTE":
		if item {
			return Item
		}
	}
	if strings.EqualFold(typ, "BYE") || transientText.MatchString(text) {
		return Transient
	}
	if item && strings.EqualFold(typ, "NO") {
		return Item
	}
	return Fatal
}

func isNetwork(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	// go-imap reports a closed connection with a plain error.
	msg := err.Error()
	return strings.Contains(msg, "connection closed") || strings.Contains(msg, "use of closed network connection") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection reset")
}

// explainDial turns a dial or handshake error into one that says the likely fix.
func explainDial(cfg *Config, err error) *Error {
	var cvErr *tls.CertificateVerificationError
	var uaErr x509.UnknownAuthorityError
	var hnErr x509.HostnameError
	var ciErr x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	var dnsErr *net.DNSError
	op := "connect to " + cfg.Address()
	switch {
	// Go wraps every verification error in CertificateVerificationError:
	// look at the specific causes first.
	case errors.As(err, &hnErr):
		return &Error{Class: Fatal, Op: op, Err: errors.Join(err,
			errors.New("the certificate does not name this host: connect by the name on the certificate"))}
	case errors.As(err, &ciErr) && ciErr.Reason == x509.Expired:
		return &Error{Class: Fatal, Op: op, Err: errors.Join(err,
			errors.New("the server's certificate has expired (or is not yet valid): renew it on the server, or check this machine's clock"))}
	case errors.As(err, &cvErr) || errors.As(err, &uaErr):
		return &Error{Class: Fatal, Op: op, Err: errors.Join(err,
			fmt.Errorf("the server's certificate is not trusted: give its CA with %s, or (tests only) %s", cfg.flag("ca-file"), cfg.flag("insecure-skip-verify")))}
	case errors.As(err, &recErr):
		return &Error{Class: Fatal, Op: op, Err: errors.Join(err,
			fmt.Errorf("the server did not answer TLS: this port may expect plain text or STARTTLS (try %s tls or none, or port 993 for ssl)", cfg.flag("security")))}
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return &Error{Class: Fatal, Op: op, Err: errors.Join(err, errors.New("no such host: check the server name"))}
	}
	c := Classify(err, false)
	return &Error{Class: c.Class, Op: op, Err: err}
}
