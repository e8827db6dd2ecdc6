package imapconn

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// Limits on what a server may send a Client: a server's answer is outside
// input, and go-imap's reader buffers strings and lines without bound and
// waits for the start of a response forever.
const (
	// maxGuardLine bounds one response line without its literals. The
	// longest legitimate lines are SEARCH answers: 500,000 UIDs are about
	// 4 MB.
	maxGuardLine = 16 << 20
	// maxGuardLiteral bounds a literal outside a FETCH response (a mailbox
	// name, a quoted string sent as a literal).
	maxGuardLiteral = 1 << 20
)

// guardConn is what go-imap's client reads from. It follows the command
// stream in both directions (tags, literals, SASL exchanges) to know when
// the client waits for an answer, and then:
//
//   - closes the wait when the server sends nothing for idle (the command
//     timeout): a server that stops answering fails the command with a
//     timeout instead of hanging it; an idle connection with no command
//     outstanding has no deadline;
//   - fails the connection when a response line is longer than
//     maxGuardLine, or a literal outside a FETCH response is larger than
//     maxGuardLiteral. FETCH literals (message bodies, header fields) are
//     bounded by the caller, which sees each literal's size before reading
//     it.
//
// go-imap's own read deadlines are replaced by this rule; write deadlines
// pass through.
type guardConn struct {
	net.Conn
	idle time.Duration

	mu      sync.Mutex
	client  streamScanner
	server  streamScanner
	pending map[string]bool // tags sent and not yet answered
	sasl    string          // tag of an AUTHENTICATE under way: client lines are responses, not commands
	err     error           // a limit the server broke: every later Read fails with it
}

func newGuardConn(c net.Conn, idle time.Duration) *guardConn {
	g := &guardConn{Conn: c, idle: idle, pending: make(map[string]bool)}
	g.server.server = true
	return g
}

// errNoAnswer is a read timeout while a command waits: net.Error with
// Timeout, so it classifies as transient.
type errNoAnswer struct{ idle time.Duration }

func (e *errNoAnswer) Error() string {
	return fmt.Sprintf("the server sent nothing for %s while a command waited for its answer (command timeout)", e.idle)
}
func (e *errNoAnswer) Timeout() bool   { return true }
func (e *errNoAnswer) Temporary() bool { return true }

// explainTimeout turns a read timeout into errNoAnswer, which says what
// happened; other errors are returned as they are.
func explainTimeout(err error, idle time.Duration) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !errors.As(err, new(*errNoAnswer)) {
		return &errNoAnswer{idle: idle}
	}
	return err
}

// ErrServerLimit is wrapped by the error a Client's commands fail with when
// the server broke one of the limits on what it may send.
var ErrServerLimit = errors.New("the server's answer broke a limit")

func (g *guardConn) Read(p []byte) (int, error) {
	g.mu.Lock()
	err := g.err
	g.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := g.Conn.Read(p)
	g.mu.Lock()
	defer g.mu.Unlock()
	if n > 0 {
		g.server.feed(p[:n], g.onServerLine, g.checkServer)
		if g.err != nil {
			g.Conn.Close()
			return 0, g.err
		}
		g.arm()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && len(g.pending) > 0 {
		err = &errNoAnswer{idle: g.idle}
	}
	return n, err
}

// Write notes the commands in p before sending them, so that an answer
// read at once finds its command pending.
func (g *guardConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	g.client.feed(p, g.onClientLine, nil)
	g.arm()
	g.mu.Unlock()
	return g.Conn.Write(p)
}

// arm sets the read deadline for the current state: idle from now while a
// command waits, none otherwise. Called with g.mu held.
func (g *guardConn) arm() {
	if len(g.pending) > 0 && g.idle > 0 {
		g.Conn.SetReadDeadline(time.Now().Add(g.idle))
	} else {
		g.Conn.SetReadDeadline(time.Time{})
	}
}

// SetReadDeadline is go-imap's; the guard decides read deadlines.
func (g *guardConn) SetReadDeadline(time.Time) error { return nil }

// SetDeadline keeps only the write half, for the same reason.
func (g *guardConn) SetDeadline(t time.Time) error { return g.Conn.SetWriteDeadline(t) }

// onClientLine sees the start of each line the client sends.
func (g *guardConn) onClientLine(head []byte) {
	if g.sasl != "" {
		return // a SASL response, or the "*" that cancels the exchange
	}
	tag, rest, _ := bytes.Cut(head, []byte{' '})
	if len(tag) == 0 {
		return
	}
	g.pending[string(tag)] = true
	cmd, _, _ := bytes.Cut(rest, []byte{' '})
	if bytes.EqualFold(cmd, []byte("AUTHENTICATE")) {
		g.sasl = string(tag)
	}
}

// onServerLine sees the start of each line the server sends.
func (g *guardConn) onServerLine(head []byte) {
	if len(head) == 0 || head[0] == '*' || head[0] == '+' {
		return
	}
	tag, _, _ := bytes.Cut(head, []byte{' '})
	delete(g.pending, string(tag))
	if g.sasl == string(tag) {
		g.sasl = ""
	}
}

// checkServer enforces the limits on one server line so far.
func (g *guardConn) checkServer(s *streamScanner, literal int64) {
	switch {
	case s.lineLen > maxGuardLine:
		g.err = fmt.Errorf("%w: a response line longer than %d bytes", ErrServerLimit, maxGuardLine)
	case literal > maxGuardLiteral && !isFetchLine(s.head):
		g.err = fmt.Errorf("%w: a literal of %d bytes in a %q response (at most %d outside FETCH)",
			ErrServerLimit, literal, responseName(s.head), maxGuardLiteral)
	}
}

// isFetchLine reports whether a response line begins "* <n> FETCH".
func isFetchLine(head []byte) bool {
	rest, ok := bytes.CutPrefix(head, []byte("* "))
	if !ok {
		return false
	}
	num, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok || len(num) == 0 {
		return false
	}
	if _, err := strconv.ParseUint(string(num), 10, 32); err != nil {
		return false
	}
	return len(rest) >= 5 && bytes.EqualFold(rest[:5], []byte("FETCH"))
}

func responseName(head []byte) string {
	f := bytes.Fields(head)
	if len(f) >= 2 {
		return string(f[1])
	}
	return string(head)
}

// streamScanner follows an IMAP byte stream: lines, and the literals they
// announce ("{n}" or "{n+}" at the end of a line), whose bytes belong to
// the same line. It keeps only the start of each line (for its tag and
// response name) and its last bytes (for a literal announcement).
type streamScanner struct {
	server  bool
	head    []byte // first bytes of the current line
	tail    []byte // last bytes of the current line segment
	lineLen int64  // bytes of the current line, without literals
	literal int64  // literal bytes still to pass over
	cont    bool   // the current line continues after a literal
}

const scanHead, scanTail = 64, 24

// feed consumes p. onLine is called with the head of each line once it is
// known (at its first line break or literal); check, if set, after each
// segment with the literal it announces (0 if none).
func (s *streamScanner) feed(p []byte, onLine func(head []byte), check func(s *streamScanner, literal int64)) {
	for len(p) > 0 {
		if s.literal > 0 {
			n := min(int64(len(p)), s.literal)
			s.literal -= n
			p = p[n:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		seg := p
		if i >= 0 {
			seg = p[:i]
		}
		if len(s.head) < scanHead {
			s.head = append(s.head, seg[:min(len(seg), scanHead-len(s.head))]...)
		}
		s.tail = append(s.tail, seg...)
		if len(s.tail) > scanTail {
			s.tail = append(s.tail[:0], s.tail[len(s.tail)-scanTail:]...)
		}
		s.lineLen += int64(len(seg))
		if i < 0 {
			if check != nil {
				check(s, 0)
			}
			return
		}
		p = p[i+1:]
		// A line segment is complete.
		head := bytes.TrimRight(s.head, "\r")
		lit := literalSuffix(string(bytes.TrimRight(s.tail, "\r")))
		if !s.cont {
			onLine(head)
		}
		if check != nil {
			check(s, max(lit, 0))
		}
		s.tail = s.tail[:0]
		if lit >= 0 {
			s.literal = lit
			s.cont = true
			continue
		}
		s.head, s.lineLen, s.cont = s.head[:0], 0, false
	}
}
