package testenv

import (
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmigrate/imapmigrate/internal/demoserver"
)

// dialTimeout bounds connecting to a test server.
const dialTimeout = demoserver.DialTimeout

// DialLogin connects to addr without TLS and logs in with LOGIN. opts may be
// nil; its Dialer defaults to one with a 10 s timeout (demoserver.DialLogin).
func DialLogin(addr, user, password string, opts *imapclient.Options) (*imapclient.Client, error) {
	return demoserver.DialLogin(addr, user, password, opts)
}

// Login is DialLogin for tests: it fails the test on error and logs out and
// closes the client when the test ends.
func Login(t testing.TB, addr, user, password string) *imapclient.Client {
	t.Helper()
	c, err := DialLogin(addr, user, password, nil)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { closeClient(c) })
	return c
}

// closeClient logs out politely, but never waits long for a server that
// stopped answering.
func closeClient(c *imapclient.Client) { demoserver.CloseClient(c) }

// Client logs in to Dovecot's plain port as user; closed when the test ends.
// For a master login pass d.MasterLogin(user) and d.MasterPassword.
func (d *Dovecot) Client(t testing.TB, user, password string) *imapclient.Client {
	t.Helper()
	return Login(t, d.Addr(), user, password)
}
