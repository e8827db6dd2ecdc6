package imapconn

import (
	"bufio"
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

func TestMailboxEncoding(t *testing.T) {
	tests := []struct{ utf8, mutf7 string }{
		{"INBOX", "INBOX"},
		{"R&D", "R&-D"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"已发送", "&XfJT0ZAB-"},
		{"Borttaget/Skräp & mer", "Borttaget/Skr&AOQ-p &- mer"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
	}
	for _, tt := range tests {
		if got := encodeMailbox(tt.utf8); got != tt.mutf7 {
			t.Errorf("encodeMailbox(%q) = %q, want %q", tt.utf8, got, tt.mutf7)
		}
		if got, err := decodeMailbox(tt.mutf7); err != nil || got != tt.utf8 {
			t.Errorf("decodeMailbox(%q) = %q, %v; want %q", tt.mutf7, got, err, tt.utf8)
		}
	}
}

func FuzzMailboxEncoding(f *testing.F) {
	for _, s := range []string{"INBOX", "R&D", "已发送", "a&b&-c", "😀 emoji"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		enc := encodeMailbox(s)
		for i := 0; i < len(enc); i++ {
			if enc[i] < 0x20 || enc[i] > 0x7e {
				t.Fatalf("encodeMailbox(%q) = %q: not printable ASCII", s, enc)
			}
		}
		dec, err := decodeMailbox(enc)
		if err != nil || dec != s {
			t.Fatalf("round trip %q -> %q -> %q, %v", s, enc, dec, err)
		}
	})
}

func TestParseAppendUID(t *testing.T) {
	tests := []struct {
		code string
		uv   uint32
		uids []imap.UID
	}{
		{"APPENDUID 38505 3955", 38505, []imap.UID{3955}},
		{"APPENDUID 1 5:8", 1, []imap.UID{5, 6, 7, 8}},
		{"APPENDUID 7 3,9:10,12", 7, []imap.UID{3, 9, 10, 12}},
		{"appenduid 7 3", 7, []imap.UID{3}},
		{"APPENDUID 7", 0, nil},
		{"APPENDUID x 3", 0, nil},
		{"APPENDUID 7 0", 0, nil},
		{"APPENDUID 7 9:3", 0, nil},
		{"APPENDUID 0 3", 0, nil},
		{"APPENDUID 7 1:9", 0, nil},          // more UIDs than the 8 messages appended
		{"APPENDUID 7 1:5,7:10", 0, nil},     // so is this
		{"APPENDUID 7 1:4294967295", 0, nil}, // and this, which would take 32 GB
		{"TRYCREATE", 0, nil},
	}
	for _, tt := range tests {
		uv, uids := parseAppendUID(tt.code, 8)
		if uv != tt.uv || len(uids) != len(tt.uids) {
			t.Errorf("parseAppendUID(%q) = %d %v, want %d %v", tt.code, uv, uids, tt.uv, tt.uids)
			continue
		}
		for i := range uids {
			if uids[i] != tt.uids[i] {
				t.Errorf("parseAppendUID(%q) = %v, want %v", tt.code, uids, tt.uids)
			}
		}
	}
}

func TestReadResponseSkipsLiterals(t *testing.T) {
	in := "* 1 FETCH (BODY[] {5}\r\nab\r\nc)\r\nA1 OK done\r\n"
	br := bufio.NewReader(strings.NewReader(in))
	got, err := readResponse(br)
	if err != nil || got != "* 1 FETCH (BODY[] {5})" {
		t.Fatalf("readResponse = %q, %v", got, err)
	}
	got, err = readResponse(br)
	if err != nil || got != "A1 OK done" {
		t.Fatalf("readResponse = %q, %v", got, err)
	}
}

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		typ, code, text string
		item            bool
		want            Class
	}{
		{"NO", "AUTHENTICATIONFAILED", "Authentication failed.", false, Auth},
		{"NO", "UNAVAILABLE", "Try later", false, Transient},
		{"NO", "OVERQUOTA", "Quota exceeded", true, Transient},
		{"NO", "", "Request is throttled. Suggested Backoff Time: 500 milliseconds", true, Transient},
		{"NO", "", "Too many simultaneous connections", false, Transient},
		{"BYE", "", "Server shutting down", false, Transient},
		{"NO", "TOOBIG", "Message too large", true, Item},
		{"NO", "LIMIT", "Mail size is larger than the maximum size allowed by server configuration", true, Item},
		{"NO", "LIMIT", "Maximum number of connections from user+IP exceeded", false, Transient},
		{"NO", "", "Invalid message", true, Item},
		{"NO", "", "Mailbox doesn't exist", false, Fatal},
		{"BAD", "", "Syntax error", true, Fatal},
	}
	for _, tt := range tests {
		if got := classifyStatus(tt.typ, tt.code, tt.text, tt.item); got != tt.want {
			t.Errorf("classifyStatus(%s [%s] %q, item=%v) = %v, want %v", tt.typ, tt.code, tt.text, tt.item, got, tt.want)
		}
	}
	e := Classify(&imap.Error{Type: imap.StatusResponseTypeNo, Text: "Request is throttled. Suggested Backoff Time: 1500 milliseconds"}, false)
	if e.Class != Transient || e.Backoff.Milliseconds() != 1500 {
		t.Errorf("throttle hint: got %v %v", e.Class, e.Backoff)
	}
}

// The trace must never show a password, a SASL exchange or a message body.
func TestTraceRedacts(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: LevelTrace}))
	tr := &tracer{log: log}
	tr.in.server = true
	client := func(s string) { tr.feed(&tr.out, []byte(s)) }
	server := func(s string) { tr.feed(&tr.in, []byte(s)) }
	client("A1 LOGIN \"terry*admin\" \"s3cret-pass\"\r\n")
	server("A1 NO [AUTHENTICATIONFAILED] failed\r\n")
	client("A2 AUTHENTICATE PLAIN AHRlcnJ5AHMzY3JldC1wYXNz\r\n")
	server("+ c2VydmVyLWNoYWxsZW5nZQ==\r\n")
	client("dGVycnkAczNjcmV0LXBhc3M=\r\n")
	server("A2 OK done\r\n")
	client("A3 APPEND \"INBOX\" (\\Seen) {26+}\r\nSubject: top-secret-")
	client("body\r\n\r\n\r\n")
	server("* 1 FETCH (BODY[] {12}\r\nsecret-reply)\r\n")
	got := out.String()
	for _, secret := range []string{"s3cret-pass", "AHRlcnJ5", "dGVycnkAczNj", "top-secret", "c2VydmVy", "secret-reply"} {
		if strings.Contains(got, secret) {
			t.Errorf("trace shows %q:\n%s", secret, got)
		}
	}
	for _, want := range []string{"A1 LOGIN [redacted]", "A2 AUTHENTICATE PLAIN [redacted]", "[26 bytes not traced]", "A3 APPEND", "+ [challenge redacted]", "A2 OK done"} {
		if !strings.Contains(got, want) {
			t.Errorf("trace lacks %q:\n%s", want, got)
		}
	}
}

func TestParseListed(t *testing.T) {
	tests := []struct {
		args    string
		lits    []string
		utf8    bool
		want    Listed
		wantErr string
	}{
		{args: `(\HasNoChildren) "/" INBOX`, want: Listed{Name: "INBOX", Delim: '/', Attrs: []imap.MailboxAttr{`\HasNoChildren`}}},
		{args: `(\Noselect \HasChildren) "." "INBOX.Archive"`, want: Listed{Name: "INBOX.Archive", Delim: '.', Attrs: []imap.MailboxAttr{`\Noselect`, `\HasChildren`}}},
		{args: `() NIL "Flat"`, want: Listed{Name: "Flat"}},
		{args: `() "/" "&XfJT0ZAB-"`, want: Listed{Name: "已发送", Delim: '/'}},
		{args: `() "/" "已发送"`, utf8: true, want: Listed{Name: "已发送", Delim: '/'}},
		{args: `() "/" "a \"quoted\" \\ name"`, want: Listed{Name: `a "quoted" \ name`, Delim: '/'}},
		{args: `() "/" {}`, lits: []string{"Sent Items"}, want: Listed{Name: "Sent Items", Delim: '/'}},
		{args: `(\Subscribed) "/" "Lists" ("CHILDINFO" ("SUBSCRIBED"))`, want: Listed{Name: "Lists", Delim: '/', Attrs: []imap.MailboxAttr{`\Subscribed`}}},
		{args: `() "/" inbox`, want: Listed{Name: "INBOX", Delim: '/'}},
		{args: `() "/" {}`, lits: []string{"bad\x00name"}, wantErr: "NUL, CR or LF"},
		{args: `() "/" {}`, lits: []string{"two\r\nlines"}, wantErr: "NUL, CR or LF"},
		{args: `() "/" "&bad"`, wantErr: "modified UTF-7"},
		{args: `() "//" "x"`, wantErr: "not one character"},
		{args: `"/" "x"`, wantErr: "no attribute list"},
		{args: `() "/"`, wantErr: "no mailbox name"},
		{args: `() "/" "unterminated`, wantErr: "bad mailbox name"},
		{args: `() "/" {}`, wantErr: "bad mailbox name"},
	}
	for _, tt := range tests {
		var lits [][]byte
		for _, l := range tt.lits {
			lits = append(lits, []byte(l))
		}
		got, err := parseListed(tt.args, lits, tt.utf8)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseListed(%q) = %+v, %v; want an error about %q", tt.args, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.Name != tt.want.Name || got.Delim != tt.want.Delim || !slices.Equal(got.Attrs, tt.want.Attrs) {
			t.Errorf("parseListed(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestReadResponseLiterals(t *testing.T) {
	in := "* LIST () \"/\" {5}\r\nab\"cd\r\n* LIST () \"/\" {99999999999}\r\n"
	br := bufio.NewReader(strings.NewReader(in))
	line, lits, err := readResponseLiterals(br, 1024)
	if err != nil || line != `* LIST () "/" {}` || len(lits) != 1 || string(lits[0]) != `ab"cd` {
		t.Fatalf("first: %q %q %v", line, lits, err)
	}
	if _, _, err := readResponseLiterals(br, 1024); err == nil || !errors.Is(err, ErrServerLimit) {
		t.Fatalf("a 99999999999-byte literal: %v, want ErrServerLimit", err)
	}
}

// FuzzListResponse: whatever a server sends as a listing, reading it never
// panics, never holds a literal over the limit, and a name it returns has
// no NUL, CR or LF.
func FuzzListResponse(f *testing.F) {
	for _, s := range []string{
		"* LIST (\\HasNoChildren) \"/\" INBOX\r\n",
		"* LIST () \".\" {5}\r\nab\x00cd\r\n",
		"* LIST (\\Noselect) NIL \"&XfJT0ZAB-\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
		"* LSUB () \"/\" {99999999999}\r\n",
		"* LIST ((( \"/\" \"\\\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, utf8Names bool) {
		br := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i < 100; i++ {
			line, lits, err := readResponseLiterals(br, 64)
			if err != nil {
				return
			}
			for _, l := range lits {
				if len(l) > 64 {
					t.Fatalf("kept a %d-byte literal", len(l))
				}
			}
			rest, ok := strings.CutPrefix(line, "* LIST ")
			if !ok {
				continue
			}
			l, err := parseListed(rest, lits, utf8Names)
			if err == nil && (l.Name == "" || strings.ContainsAny(l.Name, "\x00\r\n")) {
				t.Fatalf("parseListed(%q) gave the name %q", rest, l.Name)
			}
		}
	})
}
