package imapconn

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// traceRecorder keeps the messages of a tracer's log.
type traceRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *traceRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *traceRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *traceRecorder) WithGroup(string) slog.Handler            { return r }
func (r *traceRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, rec.Message)
	return nil
}

func (r *traceRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

func newTestTracer() (*tracer, *traceRecorder) {
	rec := &traceRecorder{}
	t := &tracer{log: slog.New(rec)}
	t.in.server = true
	return t, rec
}

// literal is s as an IMAP literal announcement plus its bytes.
func literal(s string, nonSync bool) (announce, data string) {
	plus := ""
	if nonSync {
		plus = "+"
	}
	return "{" + strconv.Itoa(len(s)) + plus + "}\r\n", s
}

// The trace hides a login by command state: its literals, the lines that
// continue it and anything the client sends until the tagged answer, in the
// forms go-imap's client and our Appender use.
func TestTraceRedactsLoginByState(t *testing.T) {
	const (
		user = "jörg-USER-SECRET"
		pass = "pässword-PASS-SECRET"
	)
	long := strings.Repeat("x", 5000) + "-USER-SECRET"
	plainIR := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	type step struct {
		server bool
		data   string
	}
	c := func(s string) step { return step{false, s} }
	s := func(s string) step { return step{true, s} }
	nsUser, nsUserData := literal(user, true)
	syUser, syUserData := literal(user, false)
	syLong, syLongData := literal(long, false)
	nsPass, nsPassData := literal(pass, true)
	tests := []struct {
		name  string
		steps []step
		want  []string // in the trace, in order
	}{
		{"non-synchronizing literal user, quoted password (go-imap, LITERAL-)", []step{
			c("T1 LOGIN " + nsUser), c(nsUserData + ` "` + pass + `"` + "\r\n"),
			s("T1 OK [CAPABILITY IMAP4rev1] Logged in\r\n"), c("T2 SELECT INBOX\r\n")},
			[]string{"C: T1 LOGIN [redacted]", "C: [redacted]", "S: T1 OK", "C: T2 SELECT INBOX"}},
		{"both literals", []step{
			c("T1 LOGIN " + nsUser), c(nsUserData + " " + nsPass + nsPassData + "\r\n"),
			s("T1 OK done\r\n"), c("T2 NOOP\r\n")},
			[]string{"C: T1 LOGIN [redacted]", "C: [redacted]", "C: [redacted]", "S: T1 OK done", "C: T2 NOOP"}},
		{"synchronizing literal, written in pieces", []step{
			c("T1 LOGIN "), c(syUser), s("+ Ready for literal data\r\n"), c(syUserData[:3]), c(syUserData[3:] + ` "` + pass[:4]),
			c(pass[4:] + "\"\r\n"), s("* CAPABILITY IMAP4rev1\r\n"), s("T1 OK done\r\n"), c("T2 NOOP\r\n")},
			[]string{"C: T1 LOGIN [redacted]", "S: + [challenge redacted]", "C: [redacted]", "S: * CAPABILITY", "S: T1 OK done", "C: T2 NOOP"}},
		{"long user name (synchronizing literal over 4 KiB)", []step{
			c("T1 LOGIN " + syLong), s("+ OK\r\n"), c(syLongData + ` "` + pass + "\"\r\n"), s("T1 NO [AUTHENTICATIONFAILED] no\r\n"), c("T2 LOGOUT\r\n")},
			[]string{"C: T1 LOGIN [redacted]", "S: + [challenge redacted]", "C: [redacted]", "S: T1 NO", "C: T2 LOGOUT"}},
		{"long quoted user name in one line (Appender)", []step{
			c(`A1 LOGIN "` + long + `" "` + pass + "\"\r\n"), s("A1 OK done\r\n"), c("A2 CAPABILITY\r\n")},
			[]string{"C: A1 LOGIN [redacted]", "S: A1 OK done", "C: A2 CAPABILITY"}},
		{"quoted with escapes", []step{
			c(`A1 LOGIN "q\"uo\\te-USER-SECRET" "p\\a\"ss-PASS-SECRET"` + "\r\n"), s("A1 NO [AUTHENTICATIONFAILED] no\r\n"), c("A2 LOGOUT\r\n")},
			[]string{"C: A1 LOGIN [redacted]", "S: A1 NO", "C: A2 LOGOUT"}},
		{"answer before the go-ahead (literal too big)", []step{
			c("T1 LOGIN " + syLong), s("T1 NO [TOOBIG] Literals are limited to 4096 bytes for this command\r\n"),
			c(syLongData + ` "` + pass + "\"\r\n"), c("T2 LOGOUT\r\n")},
			[]string{"C: T1 LOGIN [redacted]", "S: T1 NO [TOOBIG]", "C: [redacted]", "C: T2 LOGOUT"}},
		{"answer in the middle of the login's last line", []step{
			c("T1 LOGIN " + nsUser), c(nsUserData + ` "pässword-`), s("T1 BAD wait\r\n"), c("PASS-SECRET\"\r\n"), c("T2 LOGOUT\r\n")},
			[]string{"C: T1 LOGIN [redacted]", "S: T1 BAD wait", "C: [redacted]", "C: T2 LOGOUT"}},
		{"commands pipelined behind a login", []step{
			c("A1 LOGIN USER-SECRET PASS-SECRET\r\nA2 CAPABILITY\r\n"), s("A1 OK done\r\n* CAPABILITY IMAP4rev1\r\nA2 OK done\r\n"), c("A3 NOOP\r\n")},
			[]string{"C: A1 LOGIN [redacted]", "C: [redacted]", "S: A1 OK done", "C: A3 NOOP"}},
		{"lower-case command", []step{
			c("a1 login USER-SECRET PASS-SECRET\r\n"), s("a1 OK done\r\n")},
			[]string{"C: a1 LOGIN [redacted]"}},
		{"SASL PLAIN with initial response", []step{
			c("A1 AUTHENTICATE PLAIN " + plainIR + "\r\n"), s("A1 OK done\r\n"), c("A2 CAPABILITY\r\n")},
			[]string{"C: A1 AUTHENTICATE PLAIN [redacted]", "S: A1 OK done", "C: A2 CAPABILITY"}},
		{"SASL with a challenge", []step{
			c("A1 AUTHENTICATE PLAIN\r\n"), s("+ \r\n"), c(plainIR + "\r\n"), s("+ eyJzdGF0dXMiOiI0MDEifQ==\r\n"), c("\r\n"),
			s("A1 NO [AUTHENTICATIONFAILED] no\r\n"), c("A2 LOGOUT\r\n")},
			[]string{"C: A1 AUTHENTICATE PLAIN [redacted]", "S: + [challenge redacted]", "C: [redacted]", "S: + [challenge redacted]", "C: [redacted]", "S: A1 NO", "C: A2 LOGOUT"}},
		{"APPEND literal answered instead of go-ahead, then a login", []step{
			c("A1 APPEND INBOX {99999}\r\n"), s("A1 NO [TOOBIG] too big\r\n"), c("A2 LOGIN USER-SECRET PASS-SECRET\r\n"), s("A2 OK done\r\n"), c("A3 NOOP\r\n")},
			[]string{"C: A1 APPEND INBOX {99999} [99999 bytes not traced]", "S: A1 NO", "C: A2 LOGIN [redacted]", "S: A2 OK done", "C: A3 NOOP"}},
		{"message bodies", []step{
			c("A1 APPEND INBOX (\\Seen) {12+}\r\nBODY-SECRET\n"), c(" {5}\r\n"), s("+ go\r\n"), c("12345\r\n"), s("A1 OK [APPENDUID 1 2:3] done\r\n"),
			s("* 1 FETCH (BODY[] {11}\r\nBODY-SECRET)\r\n")},
			[]string{"C: A1 APPEND INBOX (\\Seen) {12+} [12 bytes not traced]", "C:  {5} [5 bytes not traced]", "S: + go", "C: ", "S: A1 OK", "S: * 1 FETCH (BODY[] {11} [11 bytes not traced]", "S: )"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, rec := newTestTracer()
			for _, st := range tt.steps {
				if st.server {
					tr.feed(&tr.in, []byte(st.data))
				} else {
					tr.feed(&tr.out, []byte(st.data))
				}
			}
			got := rec.String()
			for _, secret := range []string{"USER-SECRET", "PASS-SECRET", "BODY-SECRET", plainIR, "jörg", "pässword", "eyJzdGF0dXMi"} {
				if strings.Contains(got, secret) {
					t.Errorf("trace shows %q:\n%.3000s", secret, got)
				}
			}
			at := 0
			for _, want := range tt.want {
				i := strings.Index(got[at:], want)
				if i < 0 {
					t.Errorf("trace lacks %q (after offset %d):\n%.3000s", want, at, got)
					break
				}
				at += i + len(want)
			}
		})
	}
}

// A line longer than the trace keeps is cut in the middle; a literal it
// announces at its end is still skipped.
func TestTraceLongLine(t *testing.T) {
	tr, rec := newTestTracer()
	tr.feed(&tr.out, []byte("A1 APPEND \""+strings.Repeat("m", 10000)+"\" {7+}\r\nBODY-SE\r\nA2 NOOP\r\n"))
	got := rec.String()
	if strings.Contains(got, "BODY-SE") || !strings.Contains(got, "bytes not traced] ") || !strings.Contains(got, "C: A2 NOOP") {
		t.Errorf("trace:\n%.200s…%s", got, got[max(0, len(got)-200):])
	}
	if len(got) > traceHead+traceTail+200 {
		t.Errorf("trace of a 10000-byte line is %d bytes", len(got))
	}
}

// FuzzTraceLogin feeds arbitrary client and server bytes around a LOGIN (or
// AUTHENTICATE PLAIN) that carries a user name and a password with a marker
// in each, in every form a client may use: the markers must never appear in
// the trace, and the tracer must not panic.
func FuzzTraceLogin(f *testing.F) {
	f.Add([]byte("A0 CAPABILITY\r\n"), []byte("* OK ready\r\n"), []byte("* CAPABILITY IMAP4rev1\r\n"), []byte("L1 SELECT INBOX\r\n"), "jörg", "pw", uint8(0), uint16(3))
	f.Add([]byte("A0 NOOP"), []byte("+ go\r\nL1 OK\r\n"), []byte("L1 OK done\r\n"), []byte("A2 APPEND x {5}\r\n12345\r\n"), "q\"uo\\te", "p\"w\\", uint8(5), uint16(9))
	f.Add([]byte(""), []byte("L1 NO [TOOBIG] x\r\n"), []byte(""), []byte(""), strings.Repeat("l", 5000), "x", uint8(2), uint16(40))
	f.Add([]byte("A0 IDLE\r\nDONE\r\n"), []byte("+ idling\r\n"), []byte("* 1 FETCH (BODY[] {3}\r\nabc)\r\n"), []byte("\r\n"), "u\r\nx", "p\x00", uint8(7), uint16(1))
	f.Add([]byte("X AUTHENTICATE PLAIN\r\n"), []byte("X OK\r\n"), []byte("+ \r\n"), []byte("L1 LOGOUT\r\n"), "", "", uint8(10), uint16(0))
	const userMark, passMark = "UsErMaRk3r", "PaSsMaRk3r"
	f.Fuzz(func(t *testing.T, clientPre, serverPre, serverDuring, clientPost []byte, user, pass string, form uint8, split uint16) {
		clean := func(b []byte) []byte {
			s := string(b)
			for strings.Contains(s, userMark) || strings.Contains(s, passMark) {
				s = strings.ReplaceAll(strings.ReplaceAll(s, userMark, ""), passMark, "")
			}
			return []byte(s)
		}
		user = string(clean([]byte(user)))
		pass = string(clean([]byte(pass)))
		user = user[:len(user)/2] + userMark + user[len(user)/2:]
		pass = pass[:len(pass)/2] + passMark + pass[len(pass)/2:]

		// The client's earlier commands end where the login begins, as the
		// server sees it: complete lines without literals.
		pre := strings.ReplaceAll(string(clean(clientPre)), "{", "")
		if pre != "" && !strings.HasSuffix(pre, "\n") {
			pre += "\r\n"
		}

		// The login, as pieces the client sends; a synchronizing literal
		// waits for the server's "+" (sent by the harness).
		type piece struct {
			server bool
			data   string
		}
		var login []piece
		arg := func(s string, mode uint8) {
			quotable := !strings.ContainsAny(s, "\r\n\x00")
			switch {
			case mode == 0 && quotable:
				q := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
				login = append(login, piece{false, `"` + q + `"`})
			case mode == 1:
				a, d := literal(s, true)
				login = append(login, piece{false, a}, piece{false, d})
			default:
				a, d := literal(s, false)
				login = append(login, piece{false, a}, piece{true, "+ Ready\r\n"}, piece{false, d})
			}
		}
		ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
		if form >= 9 {
			if form == 9 {
				login = append(login, piece{false, "L1 AUTHENTICATE PLAIN " + ir + "\r\n"})
			} else {
				login = append(login, piece{false, "L1 AUTHENTICATE PLAIN\r\n"}, piece{true, "+ \r\n"}, piece{false, ir + "\r\n"})
			}
		} else {
			login = append(login, piece{false, "L1 LOGIN "})
			arg(user, form%3)
			login = append(login, piece{false, " "})
			arg(pass, (form/3)%3)
			login = append(login, piece{false, "\r\n"})
		}

		tr, rec := newTestTracer()
		client := func(s string) { tr.feed(&tr.out, []byte(s)) }
		server := func(b []byte) { tr.feed(&tr.in, b) }
		client(pre)
		server(clean(serverPre))
		// Send the login's bytes in chunks of a fuzzed size.
		size := int(split%64) + 1
		for _, p := range login {
			if p.server {
				server([]byte(p.data))
				continue
			}
			for s := p.data; s != ""; {
				n := min(size, len(s))
				client(s[:n])
				s = s[n:]
			}
		}
		server(clean(serverDuring))
		server([]byte("L1 OK done\r\n"))
		client(string(clean(clientPost)))

		got := rec.String()
		if strings.Contains(got, userMark) || strings.Contains(got, passMark) || strings.Contains(got, ir) {
			t.Fatalf("the trace shows a credential:\n%s", got)
		}
	})
}
