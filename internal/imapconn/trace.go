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

// Trace limits: a line is shown up to traceHead bytes; of the rest only the
// last traceTail bytes are kept, so that a literal announced at the end of
// a long line is still recognised.
const (
	traceHead = 4096
	traceTail = 64
)

// traceConn logs the protocol that crosses a connection at LevelTrace.
//
// The client's side is redacted by command state, not line by line: from a
// LOGIN or AUTHENTICATE command until the server's tagged answer to it,
// nothing the client sends is shown (the command's arguments, its literals,
// the lines that continue it after a literal, SASL responses, anything
// pipelined behind it), only the command's tag and name; the server's
// continuation requests in that time are shown without their text. Literals
// (message bodies) are replaced by their size everywhere.
type traceConn struct {
	net.Conn
	t *tracer
}

func (c *traceConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.feed(&c.t.in, p[:n])
	return n, err
}

// Write traces p before sending it: the trace must see a command before the
// server can answer it, or the answer that ends a login's redaction could be
// traced before the login itself.
func (c *traceConn) Write(p []byte) (int, error) {
	c.t.feed(&c.t.out, p)
	return c.Conn.Write(p)
}

type tracer struct {
	log     *slog.Logger
	mu      sync.Mutex
	in, out traceDir

	// secret: a LOGIN or AUTHENTICATE command (tag secretTag) has been sent
	// and its tagged answer has not ended it yet; the client shows nothing.
	secret    bool
	secretTag string
	// answered: the tagged answer came while the client was still inside
	// a command (mid-line, in a literal, or before a line that continues
	// it); the redaction ends where that command ends.
	answered bool
}

// traceDir is the state of one direction.
type traceDir struct {
	server bool

	head    []byte // the current line, up to traceHead bytes
	tail    []byte // its last bytes beyond head
	dropped int64  // bytes of the current line neither in head nor in tail

	literal int64 // bytes of literal still to skip

	// Client side only.
	cont    bool   // the next line continues the current command (after a literal)
	tag     string // tag of the current command
	syncLit int64  // a synchronizing literal announced, waiting for the server's "+"
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
			d.keep(p)
			return
		}
		d.keep(p[:i])
		p = p[i+1:]
		t.line(d)
	}
}

// keep adds b to the current line: to head up to traceHead bytes, then to
// tail, which keeps only its last traceTail bytes.
func (d *traceDir) keep(b []byte) {
	if room := traceHead - len(d.head); room > 0 {
		n := min(room, len(b))
		d.head = append(d.head, b[:n]...)
		b = b[n:]
	}
	if len(b) == 0 {
		return
	}
	d.tail = append(d.tail, b...)
	if over := len(d.tail) - traceTail; over > 0 {
		d.dropped += int64(over)
		d.tail = append(d.tail[:0], d.tail[over:]...)
	}
}

// midLine reports whether part of a line has been read.
func (d *traceDir) midLine() bool { return len(d.head) > 0 || len(d.tail) > 0 || d.dropped > 0 }

// line handles the complete line in d, then empties it.
func (t *tracer) line(d *traceDir) {
	head, tail, dropped := string(d.head), string(d.tail), d.dropped
	d.head, d.tail, d.dropped = d.head[:0], d.tail[:0], 0
	if tail == "" {
		head = strings.TrimSuffix(head, "\r")
	} else {
		tail = strings.TrimSuffix(tail, "\r")
	}
	// The end of the line, where a literal is announced.
	end := head + tail
	if dropped > 0 {
		end = tail
	}
	lit := literalSuffix(end)
	text := head + tail
	if dropped > 0 {
		text = fmt.Sprintf("%s [%d bytes not traced] %s", head, dropped, tail)
	}
	if d.server {
		t.serverLine(text, lit)
	} else {
		t.clientLine(head, text, dropped > 0 || tail != "", lit, strings.HasSuffix(end, "+}"))
	}
}

func (t *tracer) emit(server bool, line string) {
	dir := "C: "
	if server {
		dir = "S: "
	}
	t.log.Log(context.Background(), LevelTrace, dir+line)
}

func (t *tracer) serverLine(line string, lit int64) {
	c := &t.out
	if strings.HasPrefix(line, "+") {
		if c.syncLit > 0 {
			// The go-ahead for the client's literal.
			c.literal, c.syncLit = c.syncLit, 0
		}
		if t.secret {
			line = "+ [challenge redacted]"
		}
	} else if tag, ok := taggedStatus(line); ok {
		if c.syncLit > 0 && tag == c.tag && !t.secret {
			// Answered instead of "+": the client will not send the
			// literal, and its next line is a new command. (Within a
			// login the redaction goes on until the client's next line.)
			c.syncLit, c.cont = 0, false
		}
		if t.secret && tag == t.secretTag {
			t.answered = true
			t.maybeEndSecret()
		}
	}
	if lit >= 0 {
		t.in.literal = lit
		line += fmt.Sprintf(" [%d bytes not traced]", lit)
	}
	t.emit(true, line)
}

// taggedStatus returns the tag of a tagged status response ("A1 OK …").
func taggedStatus(line string) (tag string, ok bool) {
	tag, rest, ok := strings.Cut(line, " ")
	if !ok || tag == "" || tag == "*" || tag == "+" {
		return "", false
	}
	typ, _, _ := strings.Cut(rest, " ")
	switch strings.ToUpper(typ) {
	case "OK", "NO", "BAD":
		return tag, true
	}
	return "", false
}

// maybeEndSecret ends the redaction of a login once it was answered and the
// client is between commands.
func (t *tracer) maybeEndSecret() {
	c := &t.out
	if t.secret && t.answered && !c.cont && c.literal == 0 && c.syncLit == 0 && !c.midLine() {
		t.secret, t.answered, t.secretTag = false, false, ""
	}
}

// clientLine handles one line the client sent: head is its first bytes (all
// of it unless truncated), text what would be shown, lit the size of the
// literal it announces (-1: none), nonSync whether that literal is
// non-synchronizing ({n+}).
func (t *tracer) clientLine(head, text string, truncated bool, lit int64, nonSync bool) {
	c := &t.out
	// A line while a synchronizing literal waits for its "+": the client
	// did not wait, so these bytes are not a literal.
	c.syncLit = 0
	startsCommand := !c.cont
	c.cont = lit >= 0
	switch {
	case lit >= 0 && nonSync:
		c.literal = lit // the bytes follow at once
	case lit >= 0:
		c.syncLit = lit // the bytes follow the server's "+"
	}
	if t.secret {
		t.emit(false, "[redacted]")
		t.maybeEndSecret()
		return
	}
	if startsCommand {
		tag, cmd, known := commandOf(head, truncated)
		c.tag = tag
		switch {
		case known && cmd == "":
			// No "tag command" shape: not a command but data the client
			// sends inside one (a SASL response, a literal's rest), maybe
			// after the server already answered. Never shown.
			t.emit(false, "[not a command: redacted]")
			return
		case !known:
			// The command name is beyond what was kept: it may be a login.
			t.secret, t.secretTag = true, tag
			t.emit(false, fmt.Sprintf("[line of %d+ bytes redacted]", len(head)))
			return
		case strings.EqualFold(cmd, "LOGIN"):
			t.secret, t.secretTag = true, tag
			t.emit(false, safeTag(tag)+" LOGIN [redacted]")
			return
		case strings.EqualFold(cmd, "AUTHENTICATE"):
			t.secret, t.secretTag = true, tag
			mech := ""
			if m := saslMechOf(head, tag, cmd); m != "" {
				mech = " " + m
			}
			t.emit(false, safeTag(tag)+" AUTHENTICATE"+mech+" [redacted]")
			return
		}
	}
	if lit >= 0 {
		text += fmt.Sprintf(" [%d bytes not traced]", lit)
	}
	t.emit(false, text)
}

// commandOf splits the start of a command line into its tag and command
// name (the letters after the tag). known is false when the line was
// truncated before the name ended, so the name cannot be told.
func commandOf(head string, truncated bool) (tag, cmd string, known bool) {
	tag, rest, ok := strings.Cut(head, " ")
	if !ok {
		return tag, "", !truncated
	}
	n := 0
	for n < len(rest) && isLetter(rest[n]) {
		n++
	}
	if n == len(rest) && truncated {
		return tag, rest, false
	}
	return tag, rest[:n], true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// saslMechOf returns the mechanism of an AUTHENTICATE line when it looks like
// one (RFC 4422: at most 20 of A-Z, 0-9, '-', '_'), else "".
func saslMechOf(head, tag, cmd string) string {
	rest := strings.TrimPrefix(head[len(tag):], " ")
	rest = strings.TrimPrefix(rest[len(cmd):], " ")
	mech, _, _ := strings.Cut(rest, " ")
	if len(mech) == 0 || len(mech) > 20 {
		return ""
	}
	for i := 0; i < len(mech); i++ {
		c := mech[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '-' && c != '_' {
			return ""
		}
	}
	return mech
}

// safeTag is the tag as shown: IMAP tags are short atoms; anything else is
// not shown.
func safeTag(tag string) string {
	if len(tag) == 0 || len(tag) > 32 {
		return "[tag]"
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]+`, c) >= 0 {
			return "[tag]"
		}
	}
	return tag
}
