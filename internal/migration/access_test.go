package migration_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// xoauth2Claim is a claim whose target runs command for a token.
func xoauth2Claim(command string) *migration.Claim {
	return &migration.Claim{
		User:   migration.User{Batch: "b1", EmailAddress: "terry@new.example"},
		Target: migration.Endpoint{Name: "m365", Server: "outlook.office365.com", Port: 993, MailboxAccess: migration.AccessXOAUTH2, TokenCommand: command},
	}
}

// The token command gets a clean environment: what a program needs to run
// and the address, none of imapmigrate's secrets nor anything else.
func TestTokenCommandEnvironment(t *testing.T) {
	secrets := map[string]string{
		"IMAPMIGRATE_SECRET_KEY":        "Key-Secret-1",
		"IMAPMIGRATE_SOURCE_PASSWORD":   "Src-Secret-2",
		"IMAPMIGRATE_TARGET_PASSWORD":   "Tgt-Secret-3",
		"IMAPMIGRATE_ENDPOINT_PASSWORD": "Ep-Secret-4",
		"IMAPMIGRATE_DB":                "postgres://u:Db-Secret-5@db/imapmigrate",
		"AWS_SECRET_ACCESS_KEY":         "Aws-Secret-6",
		"GITHUB_TOKEN":                  "Gh-Secret-7",
		"SOME_API_KEY":                  "Api-Secret-8",
	}
	kept := map[string]string{
		"HOME": "/home/imapmigrate", "LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8", "LC_TIME": "sv_SE.UTF-8",
		"TZ": "Europe/Berlin", "TMPDIR": t.TempDir(), "USER": "imapmigrate",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	for k, v := range kept {
		t.Setenv(k, v)
	}
	// A real command that prints its environment, as its "token".
	cfg, err := xoauth2Claim("env; : ").TargetConfig(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth != imapconn.AuthXOAUTH2 || cfg.User != "terry@new.example" {
		t.Errorf("config %+v", cfg)
	}
	got := map[string]string{}
	for _, line := range strings.Split(cfg.Password.Reveal(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	for k, v := range secrets {
		if _, ok := got[k]; ok || strings.Contains(cfg.Password.Reveal(), v) {
			t.Errorf("the token command sees %s", k)
		}
	}
	for k, v := range kept {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if got["PATH"] != os.Getenv("PATH") || got[migration.EnvTokenEmail] != "terry@new.example" {
		t.Errorf("PATH %q, %s %q", got["PATH"], migration.EnvTokenEmail, got[migration.EnvTokenEmail])
	}
	for k := range got {
		switch {
		case k == "PATH", k == "PWD", k == "SHLVL", k == "_", k == migration.EnvTokenEmail, kept[k] != "":
		default:
			t.Errorf("unexpected variable %s", k)
		}
	}
}

// A token command that needs a variable of its own names it in the command.
func TestTokenCommandArgument(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "get-token")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"tok-$1-$IMAPMIGRATE_TOKEN_EMAIL-$TENANT\"\n"), 0o700)
	cfg, err := xoauth2Claim("TENANT=contoso "+script).TargetConfig(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Password.Reveal(); got != "tok-terry@new.example-terry@new.example-contoso" {
		t.Errorf("token = %q", got)
	}
}
