package cli

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

func TestDemo(t *testing.T) {
	code, out, errOut := run(t, []string{"demo", "--users", "3"}, nil)
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"DemoBatch  Synced  3", "terry.adams@new.example,Synced,", "Try next"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "demo-admin-password") {
		t.Error("the demo printed the admin password")
	}
}

// The whole flow through the CLI against real Dovecots, with `serve`
// killed (-9) mid-batch and started again: every message arrives exactly
// once.
func TestServeKill9MidBatch(t *testing.T) {
	ca := testenv.NewTestCA(t)
	src := testenv.StartDovecot(t, testenv.DovecotOptions{CA: ca})
	tgt := testenv.StartDovecot(t, testenv.DovecotOptions{CA: ca})
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 5))
	var csv strings.Builder
	csv.WriteString("EmailAddress,UserName,Password\n")
	var users []string
	for i := 0; i < 4; i++ {
		u := fmt.Sprintf("u%d", i)
		users = append(users, u)
		src.AddUser(u, "pw")
		tgt.AddUser(u+"@new.example", "pw")
		c := src.Client(t, u, "pw")
		var msgs []testenv.Message
		for j := 0; j < 500; j++ {
			msgs = append(msgs, testenv.Message{Body: testenv.GenMessage(rng, 2000+rng.IntN(10000)), Flags: []imap.Flag{imap.FlagSeen},
				InternalDate: time.Date(2023, 1, 1, 0, 0, j, 0, time.UTC)})
		}
		testenv.Seed(t, c, "INBOX", msgs...)
		c.Close()
		fmt.Fprintf(&csv, "%s@new.example,%s*%s,%s\n", u, u, src.MasterUser, src.MasterPassword)
	}
	csvPath := filepath.Join(dir, "users.csv")
	os.WriteFile(csvPath, []byte(csv.String()), 0o600)
	adminPw := filepath.Join(dir, "admin.pw")
	os.WriteFile(adminPw, []byte(tgt.MasterPassword), 0o600)
	key := "IMAPMIGRATE_SECRET_KEY"
	t.Setenv(key, strings.Repeat("ab", 32))

	data := []string{"--data-dir", filepath.Join(dir, "data")}
	step := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(data, args...), nil)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out
	}
	step("endpoint", "new", "old", "--server", src.Host, "--port", strconv.Itoa(src.TLSPort), "--security", "ssl", "--ca-file", ca.CAFile,
		"--max-concurrent-migrations", "2")
	step("endpoint", "new", "new", "--server", tgt.Host, "--port", strconv.Itoa(tgt.Port), "--security", "tls", "--ca-file", ca.CAFile,
		"--mailbox-access", "master", "--admin-user", tgt.MasterUser, "--admin-password-file", adminPw, "--test-mailbox", "u0@new.example")
	out := step("batch", "new", "Kill9", "--source", "old", "--target", "new", "--csv", csvPath, "--autostart")
	if !strings.Contains(out, "4 users") {
		t.Fatalf("batch new: %s", out)
	}

	bin := testenv.BuildImapmigrate(t)
	serve := func() *exec.Cmd {
		cmd := exec.Command(bin, append(data, "serve", "--listen", "127.0.0.1:0", "--lease-ttl", "2s", "--poll", "100ms", "--log-level", "warn")...)
		cmd.Env = append(os.Environ(), key+"="+strings.Repeat("ab", 32))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	for i := 0; i < 3; i++ {
		cmd := serve()
		time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	cmd := serve()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	// Bounded by the work left, not by the clock: the last serve runs until
	// the batch is Synced, and must not die meanwhile.
	for {
		code, out, _ := run(t, append(data, "batch", "get", "Kill9", "-o", "json"), nil)
		if code == 0 && strings.Contains(out, `"Status": "`+string(migration.BatchSynced)+`"`) {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("serve exited (%v) before the batch was Synced:\n%s", err, out)
		case <-time.After(200 * time.Millisecond):
		}
	}
	for _, u := range users {
		want := testenv.Snapshot(t, src.Client(t, u, "pw"))
		got := testenv.Snapshot(t, tgt.Client(t, u+"@new.example", "pw"))
		if d := testenv.DiffSnapshots(want, got); len(d) > 0 {
			t.Errorf("%s: %s", u, strings.Join(d, "\n"))
		}
	}
	_, report, _ := run(t, append(data, "batch", "report", "Kill9"), nil)
	if strings.Contains(report, src.MasterPassword) || strings.Contains(report, tgt.MasterPassword) {
		t.Error("the report holds a password")
	}
}
