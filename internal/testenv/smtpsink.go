package testenv

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SMTPSink is Postfix's smtp-sink (Debian package postfix), a real SMTP
// server that accepts every sender and recipient and dumps each mail it
// receives into a file of its own directory. It announces PIPELINING,
// 8BITMIME, DSN and AUTH PLAIN LOGIN, but answers AUTH with 250 where RFC
// 4954 says 235: a compliant client takes a login for a failure, so test
// without one (or test that failure).
type SMTPSink struct {
	Dir  string
	Port int
	cmd  *exec.Cmd
}

// SMTPSinkPath finds smtp-sink: on PATH, else Debian's place.
func SMTPSinkPath() (string, bool) {
	if p, err := exec.LookPath("smtp-sink"); err == nil {
		return p, true
	}
	if _, err := os.Stat("/usr/sbin/smtp-sink"); err == nil {
		return "/usr/sbin/smtp-sink", true
	}
	return "", false
}

// FreePort is a TCP port of 127.0.0.1 nobody listens on (now).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartSMTPSink starts smtp-sink on 127.0.0.1:port (a free one when 0),
// stopped when the test ends; the test is skipped without it (a failure
// with IMAPMIGRATE_REQUIRE_REAL=1).
func StartSMTPSink(t testing.TB, port int) *SMTPSink {
	t.Helper()
	bin, found := SMTPSinkPath()
	RequireReal(t, "smtp-sink (apt-get install postfix)", found)
	if port == 0 {
		port = FreePort(t)
	}
	// smtp-sink run as root must drop to another user (-u), which must be
	// able to write the dump directory: one of its own, outside the
	// test's private temporary directory.
	dir, err := os.MkdirTemp("", "smtpsink")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	args := []string{"-d", dir + "/%Y%m%d%H%M%S."}
	if os.Geteuid() == 0 {
		os.Chmod(dir, 0o777)
		args = append(args, "-u", "nobody")
	}
	args = append(args, "127.0.0.1:"+strconv.Itoa(port), "16")
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start smtp-sink: %v", err)
	}
	s := &SMTPSink{Dir: dir, Port: port, cmd: cmd}
	t.Cleanup(s.stop)
	// Ready when it answers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtp-sink does not answer on port %d: %v\n%s", port, err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *SMTPSink) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// SunkMail is a multipart mail as smtp-sink received it.
type SunkMail struct {
	Raw         string
	Rcpts       []string // X-Rcpt-Args: the envelope's recipients
	MailFrom    string   // X-Mail-Args: the envelope's sender
	Header      mail.Header
	Date        time.Time
	Received    time.Time         // the dump file's modification time
	Body        string            // the text part, decoded
	Attachments map[string]string // name → decoded content
}

// Mails reads the mails received so far, in the order of their Date,
// waiting (up to timeout) until there are at least want: smtp-sink may
// close a dump file just after it acknowledged the mail.
func (s *SMTPSink) Mails(t testing.TB, want int, timeout time.Duration) []SunkMail {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		names, err := filepath.Glob(filepath.Join(s.Dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(names)
		var out []SunkMail
		complete := true
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := parseSunk(string(b))
			if err != nil {
				complete = false // still being written
				break
			}
			if fi, err := os.Stat(name); err == nil {
				m.Received = fi.ModTime()
			}
			out = append(out, m)
		}
		if complete && len(out) >= want {
			// In the order sent: by their Date (a test's clock), then
			// by when the dump file was last written.
			sort.SliceStable(out, func(i, j int) bool {
				if !out[i].Date.Equal(out[j].Date) {
					return out[i].Date.Before(out[j].Date)
				}
				return out[i].Received.Before(out[j].Received)
			})
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtp-sink received %d mails (complete: %v), want %d", len(out), complete, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func parseSunk(raw string) (SunkMail, error) {
	m := SunkMail{Raw: raw, Attachments: map[string]string{}}
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return m, err
	}
	m.Header = msg.Header
	if m.Date, err = msg.Header.Date(); err != nil {
		return m, err
	}
	m.MailFrom = envelopeAddress(msg.Header.Get("X-Mail-Args"))
	for _, r := range msg.Header["X-Rcpt-Args"] {
		m.Rcpts = append(m.Rcpts, envelopeAddress(r))
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return m, err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return m, fmt.Errorf("content type %s, want multipart", mt)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return m, err
		}
		b, err := io.ReadAll(p) // quoted-printable is decoded by multipart
		if err != nil {
			return m, err
		}
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			dec, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
			if err != nil {
				return m, err
			}
			b = dec
		}
		if name := p.FileName(); name != "" {
			m.Attachments[name] = string(b)
		} else {
			m.Body = string(b)
		}
	}
	return m, nil
}

// envelopeAddress is the address of an SMTP argument: "<a@x> BODY=8BITMIME".
func envelopeAddress(arg string) string {
	arg = strings.TrimPrefix(arg, "<")
	if i := strings.Index(arg, ">"); i >= 0 {
		arg = arg[:i]
	}
	return arg
}
