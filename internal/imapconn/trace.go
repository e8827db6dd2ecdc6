package imapconn

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
)

// LevelTrace is the slog level of the protocol trace, below Debug.
const LevelTrace = slog.Level(-8)

// traceConn logs the protocol lines that cross a connection at LevelTrace,
// with literals (message bodies, and any credential sent as a literal)
// replaced by their size, and LOGIN / AUTHENTICATE arguments redacted.
type traceConn struct {
	net.Conn
	t *tracer
}

func (c *traceConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.feed(&c.t.in, p[:n])
	return n, err
}

func (c *traceConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.t.feed(&c.t.out, p[:n])
	return n, err
}

type tracer struct {
	log     *slog.Logger
	mu      sync.Mutex
	in, out traceDir
	sasl    bool // an AUTHENTICATE exchange is under way: client lines are secrets
}

type traceDir struct {
	server  bool
	line    []byte
	literal int64 // bytes of literal still to skip
}

// withTrace wraps conn when log is enabled at LevelTrace.
func withTrace(conn net.Conn, log *slog.Logger) net.Conn {
	if log == nil || !log.Enabled(context.Background(), LevelTrace) {
		return conn
	}
	t := &tracer{log: log}
	t.in.server = true
	return &traceConn{Conn: conn, t: t}
}

func (t *tracer) feed(d *traceDir, p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(p) > 0 {
		if d.literal > 0 {
			n := min(int64(len(p)), d.literal)
			d.literal -= n
			p = p[n:]
			continue
		}
		i := strings.IndexByte(string(p), '\n')
		if i < 0 {
			if len(d.line) < 4096 {
				d.line = append(d.line, p...)
			}
			return
		}
		d.line = append(d.line, p[:i]...)
		p = p[i+1:]
		line := strings.TrimRight(string(d.line), "\r")
		d.line = d.line[:0]
		if n := literalSuffix(line); n > 0 {
			d.literal = n
			line += fmt.Sprintf(" [%d bytes not traced]", n)
		}
		t.emit(d.server, line)
	}
}

func (t *tracer) emit(server bool, line string) {
	dir := "C:"
	if server {
		dir = "S:"
		if t.sasl && !strings.HasPrefix(line, "+") && !strings.HasPrefix(line, "*") {
			t.sasl = false // the tagged end of AUTHENTICATE
		}
		if strings.HasPrefix(line, "+ ") && t.sasl {
			line = "+ [challenge redacted]"
		}
	} else {
		line = redactClientLine(line, &t.sasl)
	}
	t.log.Log(context.Background(), LevelTrace, dir+" "+line)
}

// redactClientLine hides the arguments of LOGIN and AUTHENTICATE, and every
// line the client sends during a SASL exchange.
func redactClientLine(line string, sasl *bool) string {
	if *sasl {
		return "[sasl response redacted]"
	}
	fields := strings.SplitN(line, " ", 4)
	if len(fields) >= 2 {
		switch strings.ToUpper(fields[1]) {
		case "LOGIN":
			return fields[0] + " LOGIN [redacted]"
		case "AUTHENTICATE":
			*sasl = true
			mech := ""
			if len(fields) >= 3 {
				mech = " " + fields[2]
			}
			return fields[0] + " AUTHENTICATE" + mech + " [redacted]"
		}
	}
	return line
}
