// Command devservers starts two private Dovecot servers on this machine, a
// "source" holding a sample mailbox and an empty "target", and prints the
// `imapmigrate sync` command that migrates one into the other. It is for
// trying imapmigrate by hand (README) until the demo arrives; it needs
// Debian's dovecot-imapd (`make deps`). Ctrl-C stops both servers.
//
//	go run ./internal/devservers
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

func main() {
	dir := flag.String("dir", "", "where the servers keep their files (default: a new temp dir)")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "devservers:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "imapmigrate-devservers-"); err != nil {
			return err
		}
		os.Chmod(dir, 0o711) // Dovecot's mail user must traverse it
	}
	ca, err := testenv.NewCA(filepath.Join(dir, "ca"))
	if err != nil {
		return err
	}
	src, err := testenv.Start(ctx, filepath.Join(dir, "source"), testenv.DovecotOptions{Separator: '.', CA: ca,
		Users: map[string]string{"terry.adams": "old-password"}})
	if err != nil {
		return err
	}
	defer src.Stop()
	tgt, err := testenv.Start(ctx, filepath.Join(dir, "target"), testenv.DovecotOptions{Separator: '/', CA: ca, AutoCreateSpecialUse: true,
		Users: map[string]string{"terrya@new.example": "new-password"}})
	if err != nil {
		return err
	}
	defer tgt.Stop()

	if err := seed(src); err != nil {
		return err
	}
	srcPw := filepath.Join(dir, "source-admin.pw")
	tgtPw := filepath.Join(dir, "target-admin.pw")
	os.WriteFile(srcPw, []byte(src.MasterPassword+"\n"), 0o600)
	os.WriteFile(tgtPw, []byte(tgt.MasterPassword+"\n"), 0o600)

	fmt.Printf(`Two Dovecot servers are running (Ctrl-C stops them):
  source  %s (STARTTLS), %s (TLS)   user terry.adams, folders with '.' as delimiter
  target  %s (STARTTLS), %s (TLS)   user terrya@new.example, empty, '/' as delimiter
Both accept the master user %q (login as "user*%s").

Migrate the mailbox (run it twice: the second run copies nothing):

  go run ./cmd/imapmigrate sync --ca-file %s \
    --source-host %s --source-port %d --source-security ssl \
    --source-user 'terry.adams*%s' --source-password-file %s \
    --target-host %s --target-port %d --target-security tls \
    --target-user 'terrya@new.example*%s' --target-password-file %s

Add --dry-run to see the folder mapping first, --output json for a script.
`, src.Addr(), src.TLSAddr(), tgt.Addr(), tgt.TLSAddr(), src.MasterUser, src.MasterUser,
		ca.CAFile, src.Host, src.TLSPort, src.MasterUser, srcPw, tgt.Host, tgt.Port, tgt.MasterUser, tgtPw)
	<-ctx.Done()
	return nil
}

// seed fills the source mailbox with folders and messages.
func seed(d *testenv.Dovecot) error {
	c, err := testenv.DialLogin(d.Addr(), "terry.adams", "old-password", nil)
	if err != nil {
		return err
	}
	defer c.Close()
	folders := map[string]int{"INBOX": 120, "Sent Messages": 40, "Archive.2024": 60, "Archive.2025": 30, "Projekt.Entwürfe": 10, "已发送": 5}
	_, err = testenv.SeedSample(c, rand.New(rand.NewPCG(2026, 11)), folders)
	return err
}
