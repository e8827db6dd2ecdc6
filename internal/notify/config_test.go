package notify

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func TestConfigValidate(t *testing.T) {
	ok := func() Config { return Config{Host: "smtp.example.com", From: "imapmigrate@example.com"} }
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string // each problem, "Field Value: fix…" prefixes
		check  func(t *testing.T, c Config)
	}{
		{name: "defaults", change: func(c *Config) {}, check: func(t *testing.T, c Config) {
			if c.Security != SecurityStartTLS || c.Port != 587 || c.ConnectTimeout != DefaultConnectTimeout || c.SendTimeout != DefaultSendTimeout {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "ssl port", change: func(c *Config) { c.Security = SecuritySSL }, check: func(t *testing.T, c Config) {
			if c.Port != 465 {
				t.Errorf("ssl port %d", c.Port)
			}
		}},
		{name: "none port", change: func(c *Config) { c.Security = SecurityNone }, check: func(t *testing.T, c Config) {
			if c.Port != 25 {
				t.Errorf("none port %d", c.Port)
			}
		}},
		{name: "nothing", change: func(c *Config) { *c = Config{} }, want: []string{"SMTPHost: required", "SMTPFrom: required"}},
		{name: "bad values", change: func(c *Config) {
			c.Host, c.Port, c.Security, c.From = "smtp.example.com:587", 70000, "starttls", "Migration <nobody>"
		}, want: []string{"SMTPHost smtp.example.com:587: must be a host name", "SMTPSecurity starttls: must be none, ssl",
			"SMTPPort 70000: must be between 1 and 65535", `SMTPFrom "Migration <nobody>": not a mailbox address`}},
		{name: "user without password", change: func(c *Config) { c.User = "mailer" }, want: []string{"SMTPPassword: required with a user"}},
		{name: "password without user", change: func(c *Config) { c.Password = "pw" }, want: []string{"SMTPUser: required with a password"}},
		{name: "a password in clear over the network", change: func(c *Config) { c.User, c.Password, c.Security = "mailer", "pw", SecurityNone },
			want: []string{"SMTPSecurity none: the password would cross the network in clear"}},
		{name: "a password in clear to this machine", change: func(c *Config) {
			c.Host, c.User, c.Password, c.Security = "127.0.0.1", "mailer", "pw", SecurityNone
		}},
		{name: "from with a name", change: func(c *Config) { c.From = "Migration <imapmigrate@example.com>" }},
		{name: "missing CA file", change: func(c *Config) { c.CAFile = filepath.Join(t.TempDir(), "nosuch.pem") }, want: []string{"SMTPCAFile "}},
		{name: "negative timeouts", change: func(c *Config) { c.ConnectTimeout, c.SendTimeout = -time.Second, -time.Second },
			want: []string{"SMTPConnectTimeout -1s: must be positive", "SMTPSendTimeout -1s: must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok()
			tt.change(&c)
			err := c.Validate()
			var bad migration.ValidationErrors
			if err != nil && !errors.As(err, &bad) {
				t.Fatalf("error %T %v, want ValidationErrors", err, err)
			}
			if len(bad) != len(tt.want) {
				t.Fatalf("problems:\n%v\nwant %d: %q", err, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(bad[i].Error(), w) {
					t.Errorf("problem %d = %q, want %q…", i, bad[i].Error(), w)
				}
			}
			if tt.check != nil {
				tt.check(t, c)
			}
			if strings.Contains(bad.Error(), "pw") {
				t.Errorf("a problem shows the password: %v", bad)
			}
		})
	}
	if (&Config{}).Configured() || !(&Config{From: "a@b.example"}).Configured() {
		t.Error("Configured")
	}
}
