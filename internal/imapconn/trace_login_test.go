package imapconn_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// traceCapture is a logger at every level (trace included) that writes
// through slog's text and JSON handlers and keeps each message as logged.
type traceCapture struct {
	mu         sync.Mutex
	text, json bytes.Buffer
	msgs       []string
	// onMsg, when set, sees each message as it is logged.
	onMsg func(string)
}

func newTraceCapture() (*traceCapture, *slog.Logger) {
	c := &traceCapture{}
	all := &slog.HandlerOptions{Level: slog.Level(-100)}
	h := slog.NewMultiHandler(
		slog.NewTextHandler(lockedWriter{&c.mu, &c.text}, all),
		slog.NewJSONHandler(lockedWriter{&c.mu, &c.json}, all),
		msgHandler{c},
	)
	return c, slog.New(h)
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

type msgHandler struct{ c *traceCapture }

func (h msgHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h msgHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h msgHandler) WithGroup(string) slog.Handler            { return h }
func (h msgHandler) Handle(_ context.Context, r slog.Record) error {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	h.c.msgs = append(h.c.msgs, r.Message)
	if h.c.onMsg != nil {
		h.c.onMsg(r.Message)
	}
	return nil
}

func (c *traceCapture) all() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.msgs, "\n") + "\n" + c.text.String() + "\n" + c.json.String()
}

// checkNoSecrets fails when the trace shows any of secrets, raw or as the
// text and JSON handlers escape it.
func checkNoSecrets(t *testing.T, c *traceCapture, secrets ...string) {
	t.Helper()
	got := c.all()
	for _, s := range secrets {
		forms := []string{s, strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)}
		for _, f := range forms {
			if strings.Contains(got, f) {
				t.Errorf("the trace shows a secret (%d bytes):\n%.3000s", len(s), got)
				return
			}
		}
	}
}

// wantInOrder fails unless every string appears in the messages, in order.
func wantInOrder(t *testing.T, c *traceCapture, want ...string) {
	t.Helper()
	c.mu.Lock()
	got := strings.Join(c.msgs, "\n")
	c.mu.Unlock()
	at := 0
	for _, w := range want {
		i := strings.Index(got[at:], w)
		if i < 0 {
			t.Errorf("trace lacks %q after offset %d:\n%.3000s", w, at, got)
			return
		}
		at += i + len(w)
	}
}

func loginLine(auth imapconn.AuthMech) string {
	if auth == imapconn.AuthPlain {
		return "AUTHENTICATE PLAIN [redacted]"
	}
	return "LOGIN [redacted]"
}

type loginCase struct {
	name       string
	user, pass string
	auth       imapconn.AuthMech
	exists     bool // the account exists: the login succeeds
}

// Markers in every user name and password: the trace must show neither.
const (
	userMarker = "usersecret"
	passMarker = "PassSecret"
)

func loginCases() []loginCase {
	long := strings.Repeat("l", 5000) + "-" + userMarker
	return []loginCase{
		// go-imap sends the name as a literal and the password on the line
		// that continues the command after it.
		{"non-ASCII name", "jörg-" + userMarker, "ascii-" + passMarker, imapconn.AuthLogin, true},
		{"non-ASCII name and password", "jürgen-" + userMarker, "pässwörd-" + passMarker, imapconn.AuthLogin, true},
		{"non-ASCII name, SASL PLAIN", "jörg-plain-" + userMarker, "pässwörd-" + passMarker, imapconn.AuthPlain, true},
		{"non-ASCII password", "anna-" + userMarker, "ünïcode-" + passMarker, imapconn.AuthLogin, true},
		{"long name", long, "pw-" + passMarker, imapconn.AuthLogin, true},
		{"long password", "bert-" + userMarker, strings.Repeat("p", 5000) + passMarker, imapconn.AuthLogin, true},
		{"quoted name", `q"uote-` + userMarker, `p\a"ss-` + passMarker, imapconn.AuthLogin, true},
		{"quoted name with backslash", `q"uo\te-` + userMarker, `p\a"ss-` + passMarker, imapconn.AuthLogin, false},
	}
}

// The protocol trace never shows a user name or password, whatever form
// go-imap's client or our Appender send them in: literals (non-ASCII, long),
// quoted strings with escapes, SASL PLAIN; logins that succeed and logins
// that fail.
func TestTraceHidesLoginOnRealConnections(t *testing.T) {
	srv := testenv.StartMemServer(t, testenv.MemServerOptions{})
	for _, lc := range loginCases() {
		if lc.exists {
			if err := srv.AddUser(lc.user, lc.pass); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	for _, lc := range loginCases() {
		for _, sec := range []imapconn.Security{imapconn.SecurityNone, imapconn.SecurityStartTLS} {
			cfg := &imapconn.Config{Name: "source", Host: srv.Host, Port: srv.Port, Security: sec, CAFile: srv.CA.CAFile,
				Auth: lc.auth, User: lc.user, Password: sensitive.String(lc.pass)}
			t.Run("client/"+lc.name+"/"+string(sec), func(t *testing.T) {
				capt, log := newTraceCapture()
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				if strings.HasPrefix(lc.name, "long") {
					// go-imap sends a synchronizing literal over 4 KiB; the
					// in-process server neither answers nor sends "+" to
					// one in LOGIN: stop once the login is traced.
					capt.onMsg = func(m string) {
						if strings.Contains(m, "LOGIN [redacted]") {
							cancel()
						}
					}
				}
				c, err := imapconn.Connect(ctx, cfg, log)
				if err == nil {
					if _, err := c.Select("INBOX", nil).Wait(); err != nil {
						t.Errorf("select: %v", err)
					}
					c.Close()
					// The redaction ends with the login's answer.
					wantInOrder(t, capt, loginLine(lc.auth), " OK ", "SELECT INBOX")
				} else if !strings.HasPrefix(lc.name, "long") {
					wantInOrder(t, capt, loginLine(lc.auth), " NO ")
				} else {
					wantInOrder(t, capt, "LOGIN [redacted]")
				}
				if wantOK := lc.exists && !strings.HasPrefix(lc.name, "long"); (err == nil) != wantOK {
					t.Errorf("login: %v, want success %v", err, wantOK)
				}
				checkNoSecrets(t, capt, lc.user, lc.pass, userMarker, passMarker)
			})
			t.Run("appender/"+lc.name+"/"+string(sec), func(t *testing.T) {
				capt, log := newTraceCapture()
				a, err := imapconn.DialAppender(ctx, cfg, log)
				if err == nil {
					a.Close()
					wantInOrder(t, capt, "C: A2 "+loginLine(lc.auth), "S: A2 OK", "C: A3 CAPABILITY")
				}
				// The Appender quotes names itself: long ones log in; LOGIN
				// cannot carry 8-bit names, which it refuses before sending.
				nonASCII := strings.ContainsFunc(lc.user+lc.pass, func(r rune) bool { return r > 0x7f })
				if wantOK := lc.exists && (lc.auth == imapconn.AuthPlain || !nonASCII); (err == nil) != wantOK {
					t.Errorf("login: %v, want success %v", err, wantOK)
				}
				checkNoSecrets(t, capt, lc.user, lc.pass, userMarker, passMarker)
			})
		}
	}
}

// Dovecot takes long literals in LOGIN (the in-process server refuses them
// before the go-ahead), so the password really follows a 5 KB literal there,
// synchronizing or not.
func TestTraceHidesLongLoginDovecot(t *testing.T) {
	for _, literalPlus := range []bool{true, false} {
		name := "LITERAL+"
		opts := testenv.DovecotOptions{Users: map[string]string{"dora": "Dora-" + passMarker}}
		if !literalPlus {
			name = "synchronizing"
			// Without LITERAL+ go-imap waits for "+" before a literal over 4 KiB.
			opts.ExtraConfig = "imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE\n"
		}
		t.Run(name, func(t *testing.T) {
			d := testenv.StartDovecot(t, opts)
			for _, user := range []string{strings.Repeat("d", 5000) + userMarker, "dörä-" + userMarker} {
				cfg := &imapconn.Config{Name: "target", Host: d.Host, Port: d.Port, Security: imapconn.SecurityStartTLS, CAFile: d.CA.CAFile,
					Auth: imapconn.AuthLogin, User: user, Password: sensitive.String("Dora-" + passMarker)}
				capt, log := newTraceCapture()
				c, err := imapconn.Connect(context.Background(), cfg, log)
				if err == nil {
					c.Close()
					t.Fatalf("login as an unknown %d-byte user succeeded", len(user))
				}
				// Dovecot refuses the long name with "BYE Input buffer full"
				// once it has read part of the literal (whether the password
				// was sent by then depends on timing), the non-ASCII one
				// with a NO after the whole command.
				want := []string{"LOGIN [redacted]"}
				if !literalPlus {
					want = append(want, "S: + [challenge redacted]")
				}
				if len(user) < 100 {
					want = append(want, "C: [redacted]", "S: T2 NO")
				}
				wantInOrder(t, capt, want...)
				checkNoSecrets(t, capt, user, "Dora-"+passMarker, userMarker, passMarker)
			}
		})
	}
}
