package demoserver

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// newTestCA is NewCA in a directory removed when the test ends.
func newTestCA(t *testing.T) *CA {
	t.Helper()
	ca, err := NewCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// startMemServer starts a MemServer that logs to the test and is closed
// when the test ends (testenv.StartMemServer, which this package cannot use).
func startMemServer(t *testing.T, opts MemServerOptions) *MemServer {
	t.Helper()
	if opts.Logger == nil {
		tl := &testLogger{t: t}
		t.Cleanup(tl.silence) // runs after Close below
		opts.Logger = tl
	}
	s, err := NewMemServer(newTestCA(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close mem server: %v", err)
		}
	})
	return s
}

// testLogger logs to the test until silenced: connection goroutines outlive
// Close, and logging after a test has completed panics.
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

func isCode(err error, code imap.ResponseCode) bool {
	var ierr *imap.Error
	return errors.As(err, &ierr) && ierr.Code == code
}

func capList(caps imap.CapSet) string {
	var l []string
	for c := range caps {
		l = append(l, string(c))
	}
	sort.Strings(l)
	return strings.Join(l, " ")
}
