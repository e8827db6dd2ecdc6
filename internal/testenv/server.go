package testenv

import (
	"net"
	"strconv"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Server is a running real IMAP server of some kind (Dovecot, Cyrus,
// Courier), as the cross-server tests see it: a place with accounts that
// the engine reads from or writes to. Each kind documents, in its start
// function and in doc.go, what it does differently (namespace prefix,
// separator, what it normalises when it stores a message, which
// extensions it lacks).
type Server interface {
	// Kind is "dovecot", "cyrus" or "courier".
	Kind() string
	// Endpoint says where the server listens and which CA signed its
	// certificate.
	Endpoint() Endpoint
	// AddUser creates an account with an empty INBOX that can log in at
	// once with LOGIN (and SASL PLAIN) as name / password.
	AddUser(name, password string) error
	// Client logs in to the plain port as user with LOGIN; it is closed
	// when the test ends.
	Client(t testing.TB, user, password string) *imapclient.Client
}

// Endpoint is where a Server listens.
type Endpoint struct {
	Host string
	// Port offers plain IMAP with STARTTLS; TLSPort offers implicit TLS.
	Port, TLSPort int
	// CA signed the server certificate (for 127.0.0.1, ::1 and localhost).
	CA *CA
}

// Addr is host:Port.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// TLSAddr is host:TLSPort.
func (e Endpoint) TLSAddr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.TLSPort)) }

var _ Server = (*Dovecot)(nil)

// Kind is "dovecot".
func (d *Dovecot) Kind() string { return "dovecot" }

// Endpoint returns the listeners and the CA.
func (d *Dovecot) Endpoint() Endpoint {
	return Endpoint{Host: d.Host, Port: d.Port, TLSPort: d.TLSPort, CA: d.CA}
}
