package demoserver

import (
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// DialTimeout bounds connecting to a server in DialLogin.
const DialTimeout = 10 * time.Second

// logoutTimeout bounds the polite LOGOUT when a client is closed.
const logoutTimeout = 2 * time.Second

// TB is the part of testing.TB that the test helpers here use, so that this
// package need not import testing: *testing.T, *testing.B and testing.TB
// satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// DialLogin connects to addr without TLS and logs in with LOGIN. opts may be
// nil; its Dialer defaults to one with a DialTimeout timeout.
func DialLogin(addr, user, password string, opts *imapclient.Options) (*imapclient.Client, error) {
	o := imapclient.Options{}
	if opts != nil {
		o = *opts
	}
	if o.Dialer == nil {
		o.Dialer = &net.Dialer{Timeout: DialTimeout}
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
func Login(t TB, addr, user, password string) *imapclient.Client {
	t.Helper()
	c, err := DialLogin(addr, user, password, nil)
	if err != nil {
		t.Fatalf("demoserver: %v", err)
	}
	t.Cleanup(func() { CloseClient(c) })
	return c
}

// CloseClient logs out politely, but never waits long for a server that
// stopped answering.
func CloseClient(c *imapclient.Client) {
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
