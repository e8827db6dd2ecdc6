package testenv

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// dialTimeout bounds connecting to a test server.
const dialTimeout = 10 * time.Second

// logoutTimeout bounds the polite LOGOUT when a test's client is closed.
const logoutTimeout = 2 * time.Second

// DialLogin connects to addr without TLS and logs in with LOGIN. opts may be
// nil; its Dialer defaults to one with a 10 s timeout.
func DialLogin(addr, user, password string, opts *imapclient.Options) (*imapclient.Client, error) {
	o := imapclient.Options{}
	if opts != nil {
		o = *opts
	}
	if o.Dialer == nil {
		o.Dialer = &net.Dialer{Timeout: dialTimeout}
	}
	c, err := imapclient.DialInsecure(addr, &o)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login %q at %s: %w", user, addr, err)
	}
	return c, nil
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
func closeClient(c *imapclient.Client) {
	done := make(chan struct{})
	go func() {
		_ = c.Logout().Wait()
		close(done)
	}()
	t := time.NewTimer(logoutTimeout)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	_ = c.Close() // also ends the goroutine above if it still waits
}

// Client logs in to Dovecot's plain port as user; closed when the test ends.
// For a master login pass d.MasterLogin(user) and d.MasterPassword.
func (d *Dovecot) Client(t testing.TB, user, password string) *imapclient.Client {
	t.Helper()
	return Login(t, d.Addr(), user, password)
}
