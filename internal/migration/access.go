package migration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/credential"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

// Unsealer opens a sealed secret (package secret) stored at a place.
type Unsealer interface {
	Open(sealed string, at secret.Place) (string, error)
}

func (e *Endpoint) config(name string) *imapconn.Config {
	return &imapconn.Config{Name: name, Host: e.Server, Port: e.Port, Security: e.Security, CAFile: e.CAFile,
		InsecureSkipVerify: e.InsecureSkipVerify, Auth: imapconn.AuthLogin, Flag: e.setting}
}

// setting is how the hints of a stored endpoint's connections name one of
// its settings: by the command that changes it ("endpoint set old-imap
// --security").
func (e *Endpoint) setting(name string) string { return "endpoint set " + e.Name + " --" + name }

// SourceConfig is how to log in to the user's source mailbox: the migration
// file's UserName as written (it may be an admin form), with LOGIN, or SASL
// PLAIN where the endpoint says so (an admin form then becomes authzid =
// user, authcid = admin).
func (c *Claim) SourceConfig(box Unsealer) (*imapconn.Config, error) {
	cfg := c.Source.config("source")
	pw, err := box.Open(c.User.Password.Reveal(), userPasswordPlace(c.User.Batch, c.User.EmailAddress))
	if err != nil {
		return nil, fmt.Errorf("source password of %s: %w", c.User.EmailAddress, err)
	}
	cfg.Password = sensitive.String(pw)
	cfg.User = c.User.UserName
	if c.Source.Auth == imapconn.AuthPlain {
		cfg.Auth = imapconn.AuthPlain
		login, _ := credential.Parse(c.User.UserName, c.User.UserRoot, c.Source.MasterSeparator)
		if authzid, authcid, ok := login.SASLPlain(); ok {
			cfg.User, cfg.Authzid = authcid, authzid
		}
	}
	return cfg, nil
}

// TargetConfig is how to open the user's target mailbox, named by its
// EmailAddress, as the target endpoint's MailboxAccess says.
func (c *Claim) TargetConfig(ctx context.Context, box Unsealer) (*imapconn.Config, error) {
	cfg := c.Target.config("target")
	email := c.User.EmailAddress
	switch c.Target.MailboxAccess {
	case AccessMaster, AccessAuthzid:
		pw, err := box.Open(c.Target.AdminPassword.Reveal(), adminPasswordPlace(&c.Target))
		if err != nil {
			return nil, fmt.Errorf("admin password of endpoint %s: %w", c.Target.Name, err)
		}
		cfg.Password = sensitive.String(pw)
		if c.Target.MailboxAccess == AccessMaster {
			cfg.User = email + c.Target.MasterSeparator + c.Target.AdminUser
		} else {
			cfg.Auth, cfg.User, cfg.Authzid = imapconn.AuthPlain, c.Target.AdminUser, email
		}
	case AccessPerUser:
		pw, err := box.Open(c.User.TargetPassword.Reveal(), targetPasswordPlace(c.User.Batch, email))
		if err != nil {
			return nil, fmt.Errorf("target password of %s: %w", email, err)
		}
		cfg.User, cfg.Password = c.User.TargetUserName, sensitive.String(pw)
	case AccessXOAUTH2:
		token, err := runTokenCommand(ctx, c.Target.TokenCommand, email)
		if err != nil {
			return nil, &imapconn.Error{Class: imapconn.Auth, Op: "token for " + email, Err: err}
		}
		cfg.Auth, cfg.User, cfg.Password = imapconn.AuthXOAUTH2, email, sensitive.String(token)
	default:
		return nil, fmt.Errorf("endpoint %s is not a target endpoint: it does not say how to open a mailbox (%s)", c.Target.Name, c.Target.setting("mailbox-access"))
	}
	return cfg, nil
}

// runTokenCommand runs the endpoint's token command with the address as its
// only argument (and in IMAPMIGRATE_TOKEN_EMAIL), in the environment of
// tokenCommandEnv, and returns what it prints (trimmed).
func runTokenCommand(ctx context.Context, command, email string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command+` "$1"`, "token-command", email)
	cmd.Env = tokenCommandEnv(os.Environ(), email)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("token command: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	token := strings.TrimSpace(out.String())
	if token == "" {
		return "", errors.New("token command printed nothing")
	}
	return token, nil
}

// EnvTokenEmail is the variable that gives a token command the address of
// the mailbox it is asked a token for (also its argument, $1).
const EnvTokenEmail = "IMAPMIGRATE_TOKEN_EMAIL"

// tokenCommandEnv is the environment of a token command: only what a
// program needs to run (PATH, HOME, USER, LOGNAME, LANG, LANGUAGE, LC_*,
// TZ, TMPDIR) and EnvTokenEmail. Nothing else of the service's environment
// passes: not IMAPMIGRATE_SECRET_KEY, the password variables, other
// programs' tokens and keys. A command that needs more says so itself
// (--token-command 'GOOGLE_APPLICATION_CREDENTIALS=/etc/sa.json get-token').
func tokenCommandEnv(environ []string, email string) []string {
	var env []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch {
		case name == "PATH", name == "HOME", name == "USER", name == "LOGNAME", name == "LANG", name == "LANGUAGE",
			name == "TZ", name == "TMPDIR", strings.HasPrefix(name, "LC_"):
			env = append(env, kv)
		}
	}
	return append(env, EnvTokenEmail+"="+email)
}
