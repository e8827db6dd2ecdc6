package imapconn

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// AppendMessage is one message to append. Body is called once per attempt
// and must return the Size bytes of the message, exactly.
type AppendMessage struct {
	Flags []imap.Flag
	Date  time.Time
	Size  int64
	Body  func() (io.Reader, error)
}

// AppendResult is the outcome of an Append, message by message.
type AppendResult struct {
	UIDValidity uint32
	// UIDs[i] is the UID the server gave message i, 0 when it did not say
	// (no UIDPLUS): the caller must then find the message itself.
	UIDs []imap.UID
	// Errs[i] is why message i was rejected (class Item), nil when it was
	// appended.
	Errs []error
}

// Appender is a connection that only appends, with the literal handling and
// batching go-imap's client lacks (see the package documentation). It is not
// safe for concurrent use.
type Appender struct {
	conn net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	cfg  *Config
	caps map[string]bool
	tag  int
	// early holds tagged statuses read while waiting for another command
	// (pipelined APPENDs).
	early map[string]status
	// utf8Names: IMAP4rev2 is enabled, mailbox names go as UTF-8.
	utf8Names bool

	// MaxBatch is how many messages one MULTIAPPEND carries (default 32).
	MaxBatch int
	// NoMultiAppend sends single pipelined APPENDs even where the server
	// offers MULTIAPPEND.
	NoMultiAppend bool
	// NonSyncMax is the largest literal sent without waiting for the server's
	// go-ahead when it offers LITERAL+; larger ones are synchronizing so the
	// server can refuse them before the bytes are sent (default 2 MiB).
	NonSyncMax int64
}

// DialAppender connects and logs in an Appender.
func DialAppender(ctx context.Context, cfg *Config, log *slog.Logger) (*Appender, error) {
	conn, br, greeting, err := dial(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a := &Appender{conn: conn, br: br, bw: bufio.NewWriterSize(conn, 64<<10), cfg: cfg, MaxBatch: 32, NonSyncMax: 2 << 20}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	a.deadline(0)
	if strings.HasPrefix(greeting, "* OK") {
		if err := a.capability(); err != nil {
			conn.Close()
			return nil, err
		}
		if err := a.login(); err != nil {
			conn.Close()
			return nil, err
		}
	}
	if err := a.capability(); err != nil {
		conn.Close()
		return nil, err
	}
	// As Client does: with IMAP4rev2 enabled, mailbox names are UTF-8.
	if a.caps["IMAP4REV2"] {
		if _, err := a.command("ENABLE IMAP4rev2"); err != nil {
			conn.Close()
			return nil, Classify(err, false)
		}
		// utf8Names is set by the untagged "* ENABLED IMAP4rev2".
	}
	conn.SetDeadline(time.Time{})
	return a, nil
}

// Has reports whether the server offers capability c (e.g. "MULTIAPPEND").
func (a *Appender) Has(c string) bool { return a.caps[strings.ToUpper(c)] }

// Close logs out and closes the connection.
func (a *Appender) Close() error {
	a.conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := a.command("LOGOUT"); err != nil {
		a.conn.Close()
		return nil
	}
	return a.conn.Close()
}

func (a *Appender) deadline(extra time.Duration) {
	a.conn.SetDeadline(time.Now().Add(a.cfg.commandTimeout() + extra))
}

func (a *Appender) nextTag() string {
	a.tag++
	return "A" + strconv.Itoa(a.tag)
}

// status is a tagged response.
type status struct {
	typ  string // OK, NO, BAD
	code string // response code without brackets, e.g. "APPENDUID 3 5:8"
	text string
}

func (s status) err() *imap.Error {
	code, _, _ := strings.Cut(s.code, " ")
	return &imap.Error{Type: imap.StatusResponseType(s.typ), Code: imap.ResponseCode(code), Text: s.text}
}

func parseStatus(rest string) status {
	typ, rest, _ := strings.Cut(rest, " ")
	st := status{typ: strings.ToUpper(typ), text: rest}
	if strings.HasPrefix(rest, "[") {
		if end := strings.IndexByte(rest, ']'); end > 0 {
			st.code = rest[1:end]
			st.text = strings.TrimSpace(rest[end+1:])
		}
	}
	return st
}

// command sends a simple command (no literals) and waits for its status.
// Untagged responses are read and, for CAPABILITY, remembered.
func (a *Appender) command(format string, args ...any) (status, error) {
	tag := a.nextTag()
	if _, err := fmt.Fprintf(a.bw, "%s "+format+"\r\n", append([]any{tag}, args...)...); err != nil {
		return status{}, err
	}
	if err := a.bw.Flush(); err != nil {
		return status{}, err
	}
	st, _, err := a.readUntil(tag, false)
	return st, err
}

// readUntil reads responses until the tagged status of tag (done) or, when
// wantCont, a continuation request (cont). Tagged statuses of other
// commands are handed to a.early.
func (a *Appender) readUntil(tag string, wantCont bool) (st status, cont bool, err error) {
	for {
		line, err := readResponse(a.br)
		if err != nil {
			return status{}, false, err
		}
		switch {
		case strings.HasPrefix(line, "+"):
			if wantCont {
				return status{}, true, nil
			}
			// A continuation we did not ask for (e.g. a SASL challenge) is answered by the caller.
			return status{typ: "+", text: strings.TrimSpace(strings.TrimPrefix(line, "+"))}, true, nil
		case strings.HasPrefix(line, "* "):
			a.untagged(line[2:])
		default:
			t, rest, _ := strings.Cut(line, " ")
			st := parseStatus(rest)
			if t == tag {
				return st, false, nil
			}
			if a.early != nil {
				a.early[t] = st
			}
		}
	}
}

func (a *Appender) untagged(line string) {
	upper := strings.ToUpper(line)
	switch {
	case strings.HasPrefix(upper, "CAPABILITY "):
		a.setCaps(line[len("CAPABILITY "):])
	case strings.HasPrefix(upper, "ENABLED "):
		for _, c := range strings.Fields(upper[len("ENABLED "):]) {
			if c == "IMAP4REV2" {
				a.utf8Names = true
			}
		}
	case strings.HasPrefix(upper, "OK [CAPABILITY "):
		if end := strings.IndexByte(line, ']'); end > 0 {
			a.setCaps(line[len("OK [CAPABILITY "):end])
		}
	}
}

func (a *Appender) setCaps(list string) {
	a.caps = make(map[string]bool)
	for _, c := range strings.Fields(list) {
		a.caps[strings.ToUpper(c)] = true
	}
}

func (a *Appender) capability() error {
	st, err := a.command("CAPABILITY")
	if err != nil {
		return Classify(err, false)
	}
	if st.typ != "OK" {
		return &Error{Class: Fatal, Op: "capability", Err: st.err()}
	}
	return nil
}

func (a *Appender) login() error {
	mech, err := saslClient(a.cfg)
	if err != nil {
		return &Error{Class: Fatal, Op: "login", Err: err}
	}
	var st status
	if mech == nil {
		if a.caps["LOGINDISABLED"] {
			return &Error{Class: Auth, Op: "login as " + a.cfg.label(), Err: fmt.Errorf(
				"the server refuses LOGIN on this connection (LOGINDISABLED): use %s tls or ssl, or a SASL mechanism it offers", a.cfg.flag("security"))}
		}
		user, ok1 := quote(a.cfg.User)
		pass, ok2 := quote(a.cfg.Password.Reveal())
		if !ok1 || !ok2 {
			return &Error{Class: Auth, Op: "login as " + a.cfg.label(), Err: fmt.Errorf(
				"user name or password holds characters LOGIN cannot carry: use %s plain", a.cfg.flag("auth"))}
		}
		st, err = a.command("LOGIN %s %s", user, pass)
	} else {
		st, err = a.authenticate(mech)
	}
	if err != nil {
		return loginError(a.cfg, err)
	}
	if st.typ != "OK" {
		return loginError(a.cfg, st.err())
	}
	if strings.HasPrefix(strings.ToUpper(st.code), "CAPABILITY ") {
		a.setCaps(st.code[len("CAPABILITY "):])
	}
	return nil
}

func (a *Appender) authenticate(mech interface {
	Start() (string, []byte, error)
	Next([]byte) ([]byte, error)
}) (status, error) {
	name, ir, err := mech.Start()
	if err != nil {
		return status{}, err
	}
	if !a.caps["AUTH="+name] {
		return status{}, &Error{Class: Auth, Op: "login as " + a.cfg.label(), Err: fmt.Errorf("the server does not offer AUTH=%s", name)}
	}
	tag := a.nextTag()
	if ir != nil && a.caps["SASL-IR"] {
		enc := "="
		if len(ir) > 0 {
			enc = b64.EncodeToString(ir)
		}
		fmt.Fprintf(a.bw, "%s AUTHENTICATE %s %s\r\n", tag, name, enc)
		ir = nil
	} else {
		fmt.Fprintf(a.bw, "%s AUTHENTICATE %s\r\n", tag, name)
	}
	if err := a.bw.Flush(); err != nil {
		return status{}, err
	}
	for {
		st, cont, err := a.readUntil(tag, false)
		if err != nil {
			return status{}, err
		}
		if !cont {
			return st, nil
		}
		var resp []byte
		if ir != nil && st.text == "" {
			resp, ir = ir, nil
		} else {
			challenge, err := b64.DecodeString(st.text)
			if err != nil {
				return status{}, fmt.Errorf("bad SASL challenge: %w", err)
			}
			if resp, err = mech.Next(challenge); err != nil {
				a.bw.WriteString("*\r\n") // cancel the exchange
				a.bw.Flush()
				return status{}, err
			}
		}
		a.bw.WriteString(b64.EncodeToString(resp) + "\r\n")
		if err := a.bw.Flush(); err != nil {
			return status{}, err
		}
	}
}
