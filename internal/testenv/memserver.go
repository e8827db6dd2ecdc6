package testenv

import (
	"sync"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/demoserver"
)

// The in-process server lives in demoserver (the demo runs it); testenv
// adds the test form, StartMemServer.

// MemServerOptions configures StartMemServer (demoserver.MemServerOptions).
// The zero value is usable; a nil Logger means the test log.
type MemServerOptions = demoserver.MemServerOptions

// MemServer is the in-process go-imap server (imapmemserver) on 127.0.0.1,
// with a plain listener offering STARTTLS and an implicit-TLS listener, both
// presenting a certificate from CA (demoserver.MemServer). Mailboxes live in
// memory; the hierarchy delimiter is '/'. Like Dovecot it lower-cases login
// names.
type MemServer = demoserver.MemServer

// StartMemServer starts a MemServer for the test and closes it when the test
// ends.
func StartMemServer(t testing.TB, opts MemServerOptions) *MemServer {
	t.Helper()
	if opts.Logger == nil {
		tl := &testLogger{t: t}
		t.Cleanup(tl.silence) // runs after Close below
		opts.Logger = tl
	}
	ca := NewTestCA(t)
	s, err := NewMemServer(ca, opts)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("testenv: close mem server: %v", err)
		}
	})
	return s
}

// NewMemServer starts a MemServer whose certificate comes from ca; the caller
// must Close it. A nil opts.Logger means log.Default().
func NewMemServer(ca *CA, opts MemServerOptions) (*MemServer, error) {
	return demoserver.NewMemServer(ca, opts)
}

// testLogger sends the server's messages to the test log until the test's
// cleanup silences it: connection goroutines outlive Server.Close, and
// logging after a test has completed panics.
type testLogger struct {
	t      testing.TB
	mu     sync.Mutex
	closed bool
}

func (l *testLogger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Logf("mem server: "+format, args...)
	}
}

func (l *testLogger) silence() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
}
