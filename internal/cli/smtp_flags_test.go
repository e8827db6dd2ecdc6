package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/notify"
	"github.com/imapmigrate/imapmigrate/internal/secret"
)

// The SMTP flags, their environment variables (a flag wins), the
// password from a file only.
func TestSMTPOptionsConfig(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "smtp.pw")
	os.WriteFile(pwFile, []byte("Smtp-Pw-Flags\n"), 0o600)
	parse := func(args ...string) (notify.Config, error) {
		t.Helper()
		o := &smtpOptions{}
		cmd := &cobra.Command{Use: "x"}
		o.addFlags(cmd)
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		return o.config(cmd.Flags())
	}
	for _, env := range smtpEnv {
		t.Setenv(env, "")
	}
	c, err := parse()
	if err != nil || c.Configured() {
		t.Fatalf("no flags: %+v %v, want nothing configured", c, err)
	}
	t.Setenv("IMAPMIGRATE_SMTP_HOST", "smtp.env.example")
	t.Setenv("IMAPMIGRATE_SMTP_FROM", "env@example.com")
	t.Setenv("IMAPMIGRATE_SMTP_PASSWORD_FILE", pwFile)
	t.Setenv("IMAPMIGRATE_SMTP_SEND_TIMEOUT", "45s")
	c, err = parse("--smtp-host", "smtp.flag.example", "--smtp-user", "mailer", "--smtp-security", "ssl")
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "smtp.flag.example" || c.From != "env@example.com" || c.User != "mailer" || c.Password.Reveal() != "Smtp-Pw-Flags" ||
		c.Security != notify.SecuritySSL || c.SendTimeout != 45*time.Second || c.ConnectTimeout != notify.DefaultConnectTimeout {
		t.Errorf("config %+v", c)
	}
	if err := c.Validate(); err != nil || c.Port != 465 {
		t.Errorf("Validate: %v, port %d", err, c.Port)
	}
	t.Setenv("IMAPMIGRATE_SMTP_PASSWORD_FILE", filepath.Join(dir, "nosuch"))
	if _, err := parse(); err == nil || !strings.Contains(err.Error(), "--smtp-password-file") {
		t.Errorf("a missing password file: %v", err)
	}
}

// serve and worker refuse bad SMTP settings before starting, every problem
// named by its flag.
func TestServeRefusesBadSMTP(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{secret.EnvKey: ""}
	for _, e := range smtpEnv {
		env[e] = ""
	}
	for _, cmd := range []string{"serve", "worker"} {
		code, out, errOut := run(t, []string{"--data-dir", filepath.Join(dir, "data"), cmd, "--smtp-from", "nobody", "--smtp-security", "x",
			"--smtp-user", "mailer"}, env)
		if code != ExitPartial {
			t.Fatalf("%s: exit %d, want %d\n%s\n%s", cmd, code, ExitPartial, out, errOut)
		}
		for _, want := range []string{"4 problems", "--smtp-host: required", "--smtp-security x: must be none, ssl",
			"--smtp-password-file: required with a user", "--smtp-from nobody: not a mailbox address"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", cmd, want, errOut)
			}
		}
	}
}
