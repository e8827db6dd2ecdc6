package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

const (
	srcSecret = "Src-Secret-Pass-1"
	tgtSecret = "Tgt-Secret-Pass-2"
)

type cliEnv struct {
	src, tgt *testenv.MemServer
	dir      string
}

func newCLIEnv(t *testing.T) *cliEnv {
	e := &cliEnv{
		src: testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry": "x"}, MasterUser: "admin", MasterPassword: srcSecret}),
		tgt: testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry@new.example": tgtSecret}}),
		dir: t.TempDir(),
	}
	os.WriteFile(filepath.Join(e.dir, "src.pw"), []byte(srcSecret+"\n"), 0o600)
	c := testenv.Login(t, e.src.Addr(), "terry", "x")
	rng := rand.New(rand.NewPCG(1, 1))
	var msgs []testenv.Message
	for i := 0; i < 12; i++ {
		msgs = append(msgs, testenv.Message{Body: testenv.GenMessage(rng, 1000+i*300), Flags: []imap.Flag{imap.FlagSeen}, InternalDate: time.Date(2024, 3, 1, 0, 0, i, 0, time.UTC)})
	}
	testenv.Seed(t, c, "INBOX", msgs...)
	testenv.Seed(t, c, "Projekt/Entwürfe", msgs[:3]...)
	big := testenv.Message{Body: testenv.GenMessage(rng, 200_000, testenv.WithAttachment()), InternalDate: time.Now()}
	testenv.Seed(t, c, "INBOX", big)
	return e
}

func (e *cliEnv) args(extra ...string) []string {
	a := []string{"sync", "--data-dir", e.dir, "--ca-file", e.src.CA.CAFile, "--target-ca-file", e.tgt.CA.CAFile,
		"--source-host", e.src.Host, "--source-port", strconv.Itoa(e.src.TLSPort), "--source-security", "ssl",
		"--source-user", "terry*admin", "--source-password-file", filepath.Join(e.dir, "src.pw"),
		"--target-host", e.tgt.Host, "--target-port", strconv.Itoa(e.tgt.Port), "--target-security", "tls",
		"--target-user", "terry@new.example", "--target-auth", "plain"}
	return append(a, extra...)
}

func run(t *testing.T, args []string, env map[string]string) (code int, stdout, stderr string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code = Execute(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSyncCommand(t *testing.T) {
	e := newCLIEnv(t)
	env := map[string]string{"IMAPMIGRATE_TARGET_PASSWORD": tgtSecret}

	// Dry run: the mapping and the counts, nothing created.
	code, out, errOut := run(t, e.args("--dry-run"), env)
	if code != 0 || !strings.Contains(out, "Projekt/Entwürfe") || !strings.Contains(out, "Dry run") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := testenv.Snapshot(t, testenv.Login(t, e.tgt.Addr(), "terry@new.example", tgtSecret)); len(got) != 1 {
		t.Fatalf("dry run changed the target: %v", got)
	}

	// A message over --max-message-size: copied all but it, exit 1, listed.
	code, out, errOut = run(t, e.args("--max-message-size", "100KB", "--log-level", "trace"), env)
	if code != ExitPartial {
		t.Fatalf("exit %d, want 1 (one message skipped)\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "too_large") || !strings.Contains(out, "15 copied") {
		t.Errorf("summary lacks the copy count or the skip:\n%s", out)
	}
	for _, secret := range []string{srcSecret, tgtSecret} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("a password appears in the output or the trace")
		}
	}
	if !strings.Contains(errOut, "LOGIN [redacted]") && !strings.Contains(errOut, "AUTHENTICATE PLAIN [redacted]") {
		t.Errorf("the trace shows no redacted login:\n%.2000s", errOut)
	}

	// Again, as JSON: nothing new to copy.
	code, out, errOut = run(t, e.args("--output", "json", "--max-message-size", "100KB"), env)
	var res struct {
		Copied  int            `json:"MessagesCopied"`
		Skipped map[string]int `json:"SkippedByReason"`
		Folders []struct {
			Source string `json:"SourceFolder"`
		} `json:"Folders"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("JSON output: %v\n%s\n%s", err, out, errOut)
	}
	if res.Copied != 0 || len(res.Folders) < 3 {
		t.Errorf("second run: %+v", res)
	}
	// The skip is recorded, not retried: this run skipped nothing new.
	if code != 0 {
		t.Errorf("second run exit %d, want 0 (nothing skipped in this run)", code)
	}
}

func TestSyncCommandErrors(t *testing.T) {
	e := newCLIEnv(t)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no target password", e.args(), nil, "IMAPMIGRATE_TARGET_PASSWORD"},
		{"bad security", e.args("--source-security", "starttls"), map[string]string{"IMAPMIGRATE_TARGET_PASSWORD": "x"}, "--source-security"},
		{"wrong password", e.args(), map[string]string{"IMAPMIGRATE_TARGET_PASSWORD": "wrong-Password-9"}, `"terry@new.example" at 127.0.0.1`},
		{"bad size", e.args("--max-message-size", "huge"), map[string]string{"IMAPMIGRATE_TARGET_PASSWORD": "x"}, "--max-message-size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args, tt.env)
			if code != ExitUsage {
				t.Errorf("exit %d, want 2\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("error does not mention %q:\n%s", tt.want, errOut)
			}
			if strings.Contains(out+errOut, "wrong-Password-9") || strings.Contains(out+errOut, srcSecret) {
				t.Errorf("a password appears in the output")
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"35MB": 35_000_000, "512KiB": 512 << 10, "1000": 1000, "1.5 GiB": 3 << 29} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1MB", "big", "0"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}
