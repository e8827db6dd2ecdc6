package notify_test

import (
	"bytes"
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

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// smtpSink is Postfix's smtp-sink, a real SMTP server (it announces
// PIPELINING, AUTH PLAIN LOGIN, 8BITMIME, DSN…, accepts every login and
// recipient) that dumps each mail it receives into a file of dir.
type smtpSink struct {
	dir  string
	port int
	cmd  *exec.Cmd
}

// smtpSinkPath finds smtp-sink: on PATH, else Debian's place.
func smtpSinkPath() (string, bool) {
	if p, err := exec.LookPath("smtp-sink"); err == nil {
		return p, true
	}
	if _, err := os.Stat("/usr/sbin/smtp-sink"); err == nil {
		return "/usr/sbin/smtp-sink", true
	}
	return "", false
}

// freePort is a TCP port of 127.0.0.1 nobody listens on (now).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSMTPSink starts smtp-sink on 127.0.0.1:port (a free one when 0),
// stopped when the test ends.
func startSMTPSink(t *testing.T, port int) *smtpSink {
	t.Helper()
	bin, found := smtpSinkPath()
	testenv.RequireReal(t, "smtp-sink (apt-get install postfix)", found)
	if port == 0 {
		port = freePort(t)
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
	s := &smtpSink{dir: dir, port: port, cmd: cmd}
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

func (s *smtpSink) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}

// sunkMail is a mail as smtp-sink received it.
type sunkMail struct {
	raw         string
	rcpts       []string // X-Rcpt-Args, the envelope's recipients
	mailFrom    string
	header      mail.Header
	date        time.Time
	body        string
	attachments map[string]string // name → decoded content
}

// mails reads the mails received so far, waiting (up to 10 s) until
// there are at least want: smtp-sink may close a dump file just after it
// acknowledged the mail.
func (s *smtpSink) mails(t *testing.T, want int) []sunkMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		names, err := filepath.Glob(filepath.Join(s.dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(names)
		var out []sunkMail
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
			out = append(out, m)
		}
		if complete && len(out) >= want {
			// In the order sent: by their Date (the tests' clock).
			sort.SliceStable(out, func(i, j int) bool { return out[i].date.Before(out[j].date) })
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtp-sink received %d mails (complete: %v), want %d", len(out), complete, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func parseSunk(raw string) (sunkMail, error) {
	m := sunkMail{raw: raw, attachments: map[string]string{}}
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return m, err
	}
	m.header = msg.Header
	if m.date, err = msg.Header.Date(); err != nil {
		return m, err
	}
	m.mailFrom = envelopeAddress(msg.Header.Get("X-Mail-Args"))
	for _, r := range msg.Header["X-Rcpt-Args"] {
		m.rcpts = append(m.rcpts, envelopeAddress(r))
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
			dec, err := decodeBase64(b)
			if err != nil {
				return m, err
			}
			b = dec
		}
		if name := p.FileName(); name != "" {
			m.attachments[name] = string(b)
		} else {
			m.body = string(b)
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
