package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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

// running is what startForTest needs of a started server.
type running interface {
	Kill() error
	LogPath() string
	LogTail(n int) string
}

// startForTest runs start in a new directory under /tmp (os.MkdirTemp, not
// t.TempDir, whose parents are mode 0700: a server's mail account must
// traverse them), bounded by the test's deadline. The server is killed, not
// stopped, when the test ends (the data is thrown away), and the directory
// removed; on failure the test log shows the tail of the server's log,
// logName in the directory.
func startForTest[S running](t testing.TB, kind, logName string, start func(ctx context.Context, dir string) (S, error)) S {
	t.Helper()
	dir, err := os.MkdirTemp("", "imapmigrate-"+kind+"-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("testenv: remove %s dir: %v", kind, err)
		}
	})
	ctx := context.Background()
	if dl, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := dl.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
	}
	s, err := start(ctx, dir)
	if err != nil {
		if tail := logTail(filepath.Join(dir, logName), 40); tail != "" {
			t.Logf("testenv: %s log tail:\n%s", kind, tail)
		}
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Kill(); err != nil {
			t.Errorf("testenv: %v", err)
		}
		if t.Failed() {
			t.Logf("testenv: %s log tail (%s):\n%s", kind, s.LogPath(), s.LogTail(50))
		}
	})
	return s
}

// pollReady probes a starting server until probe succeeds, the server
// exits (exited closes; waitErr then says how), or timeout or ctx ends;
// the probe's wait is bounded by timeout, its retries back off from 2 ms to
// 20 ms. A probe in progress ends when the server exits: a port another
// process holds would otherwise keep it waiting for a greeting.
func pollReady(ctx context.Context, timeout time.Duration, what string, exited <-chan struct{}, waitErr func() error, probe func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	probeCtx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	go func() {
		select {
		case <-exited:
			stopProbes()
		case <-probeCtx.Done():
		}
	}()
	delay := 2 * time.Millisecond
	var last error
	for {
		if last = probe(probeCtx); last == nil {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-exited:
			t.Stop()
			return fmt.Errorf("%s exited during start-up: %v", what, waitErr())
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s did not get ready within %v: %v", what, timeout, last)
		case <-t.C:
		}
		delay = min(2*delay, 20*time.Millisecond)
	}
}
