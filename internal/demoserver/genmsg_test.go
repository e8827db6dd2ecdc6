package demoserver

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// checkWellFormed checks line endings and line lengths (RFC 5322 §2.1.1,
// §2.3) and that the message parses, and returns it parsed.
func checkWellFormed(t *testing.T, msg []byte) *mail.Message {
	t.Helper()
	for i, c := range msg {
		switch {
		case c == '\n' && (i == 0 || msg[i-1] != '\r'):
			t.Fatalf("bare LF at byte %d", i)
		case c == '\r' && (i+1 == len(msg) || msg[i+1] != '\n'):
			t.Fatalf("bare CR at byte %d", i)
		case c == 0:
			t.Fatalf("NUL at byte %d", i)
		}
	}
	if !bytes.HasSuffix(msg, []byte("\r\n")) {
		t.Fatal("message does not end with CRLF")
	}
	for n, line := range bytes.Split(msg, []byte("\r\n")) {
		if len(line) > 998 {
			t.Fatalf("line %d is %d bytes long", n+1, len(line))
		}
	}
	if !utf8.Valid(msg[:bytes.Index(msg, []byte("\r\n\r\n"))]) {
		t.Fatal("header is not valid UTF-8")
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, h := range []string{"Date", "From", "To", "Subject", "MIME-Version", "Content-Type", "Received"} {
		if m.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if _, err := m.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if _, err := mail.ParseAddress(m.Header.Get("From")); err != nil {
		t.Errorf("From %q: %v", m.Header.Get("From"), err)
	}
	return m
}

func TestGenMessageSizes(t *testing.T) {
	sizes := []int{1200, 1500, 2048, 4096, 10_000, attachmentThreshold, attachmentThreshold + 1, 100_000, 1 << 20, 35_000_000 - 1}
	if testing.Short() {
		sizes = sizes[:len(sizes)-1]
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range sizes {
		for range 5 {
			msg := GenMessage(rng, size)
			if len(msg) != size {
				t.Fatalf("GenMessage(%d): %d bytes", size, len(msg))
			}
			m := checkWellFormed(t, msg)
			mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
			if err != nil {
				t.Fatalf("Content-Type: %v", err)
			}
			if want := size > attachmentThreshold; (mediaType == "multipart/mixed") != want {
				t.Fatalf("size %d: Content-Type %s", size, mediaType)
			}
			if mediaType == "multipart/mixed" {
				checkAttachment(t, m.Body, params["boundary"])
			}
		}
	}
}

// checkAttachment reads every part and decodes the base64 attachment.
func checkAttachment(t *testing.T, body io.Reader, boundary string) {
	t.Helper()
	mr := multipart.NewReader(body, boundary)
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		parts = append(parts, p.Header.Get("Content-Type"))
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			if _, err := io.Copy(io.Discard, base64.NewDecoder(base64.StdEncoding, p)); err != nil {
				t.Fatalf("attachment: %v", err)
			}
		}
	}
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "text/plain") || !strings.HasPrefix(parts[1], "application/octet-stream") {
		t.Fatalf("parts %q, want text and attachment", parts)
	}
}

func TestGenMessageSmallAndDefault(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		msg := GenMessage(rng, 0)
		if len(msg) < 1024 || len(msg) > 16<<10 {
			t.Errorf("default size %d, want 1–16 KiB", len(msg))
		}
		checkWellFormed(t, msg)
	}
	// Too small to be exact: headers and a short text, still well formed.
	msg := GenMessage(rng, 10)
	checkWellFormed(t, msg)
	// A small message with an attachment.
	msg = GenMessage(rng, 3000, WithAttachment())
	m := checkWellFormed(t, msg)
	_, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	checkAttachment(t, m.Body, params["boundary"])
	if len(msg) != 3000 {
		t.Errorf("WithAttachment: %d bytes, want 3000", len(msg))
	}
}

func TestGenMessageDeterministic(t *testing.T) {
	gen := func() [][]byte {
		rng := rand.New(rand.NewPCG(42, 43))
		var out [][]byte
		for _, size := range []int{0, 3000, 200_000} {
			out = append(out, GenMessage(rng, size))
		}
		return out
	}
	a, b := gen(), gen()
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("message %d differs between runs with the same seed", i)
		}
	}
	if bytes.Equal(a[0], a[1]) {
		t.Fatal("consecutive messages are equal")
	}
}

func TestGenMessageIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	seen := map[string]bool{}
	for range 2000 {
		m, err := mail.ReadMessage(bytes.NewReader(GenMessage(rng, 1500)))
		if err != nil {
			t.Fatal(err)
		}
		id := m.Header.Get("Message-ID")
		if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") || !strings.Contains(id, "@") {
			t.Fatalf("Message-ID %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate Message-ID %s", id)
		}
		seen[id] = true
	}

	m, _ := mail.ReadMessage(bytes.NewReader(GenMessage(rng, 1500, WithoutMessageID())))
	if _, ok := m.Header["Message-Id"]; ok {
		t.Errorf("WithoutMessageID: header present: %q", m.Header.Get("Message-ID"))
	}
	for _, id := range []string{"dup@example.com", "<dup@example.com>"} {
		m, _ := mail.ReadMessage(bytes.NewReader(GenMessage(rng, 1500, WithMessageID(id))))
		if got := m.Header.Get("Message-ID"); got != "<dup@example.com>" {
			t.Errorf("WithMessageID(%q): %q", id, got)
		}
	}
}

func TestGenMessageHeaders(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	date := time.Date(2023, 4, 5, 6, 7, 8, 0, time.FixedZone("", -4*3600))
	for _, subject := range []string{"plain ASCII", "Grüße aus München", "会議の議事録について — a long subject that needs more than one encoded word to fit"} {
		msg := GenMessage(rng, 2000, WithSubject(subject), WithDate(date))
		m := checkWellFormed(t, msg)
		raw := m.Header.Get("Subject")
		if !isASCII(raw) {
			t.Errorf("Subject header %q is not ASCII", raw)
		}
		got, err := new(mime.WordDecoder).DecodeHeader(raw)
		if err != nil || got != subject {
			t.Errorf("Subject decodes to %q, %v; want %q", got, err, subject)
		}
		if d, _ := m.Header.Date(); !d.Equal(date) {
			t.Errorf("Date %v, want %v", d, date)
		}
	}
	// Over many messages the random subjects include encoded words.
	encoded := 0
	for range 100 {
		m := checkWellFormed(t, GenMessage(rng, 1500))
		if strings.Contains(m.Header.Get("Subject"), "=?utf-8?") {
			encoded++
		}
		if _, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("From")); err != nil {
			t.Errorf("From %q: %v", m.Header.Get("From"), err)
		}
	}
	if encoded == 0 {
		t.Error("no RFC 2047 subject in 100 messages")
	}
}

func ExampleGenMessage() {
	rng := rand.New(rand.NewPCG(1, 1))
	msg := GenMessage(rng, 4096, WithSubject("Grüße"), WithMessageID("example@imapmigrate.test"))
	m, _ := mail.ReadMessage(bytes.NewReader(msg))
	fmt.Println(len(msg), m.Header.Get("Subject"), m.Header.Get("Message-ID"))
	// Output: 4096 =?utf-8?b?R3LDvMOfZQ==?= <example@imapmigrate.test>
}
