package cli

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/notify"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

// smtpOptions are serve's and worker's SMTP settings, for the batches'
// report e-mails (batch new --notify). Each flag may be given in the
// environment instead (IMAPMIGRATE_SMTP_HOST…; the password only as a
// file, --smtp-password-file or IMAPMIGRATE_SMTP_PASSWORD_FILE); a flag
// wins over its variable.
type smtpOptions struct {
	host, security, user, passwordFile, from, caFile string
	port                                             int
	connectTimeout, sendTimeout, interval            time.Duration
}

// smtpEnv names each flag's environment variable.
var smtpEnv = map[string]string{
	"smtp-host":            "IMAPMIGRATE_SMTP_HOST",
	"smtp-port":            "IMAPMIGRATE_SMTP_PORT",
	"smtp-security":        "IMAPMIGRATE_SMTP_SECURITY",
	"smtp-user":            "IMAPMIGRATE_SMTP_USER",
	"smtp-password-file":   "IMAPMIGRATE_SMTP_PASSWORD_FILE",
	"smtp-from":            "IMAPMIGRATE_SMTP_FROM",
	"smtp-ca-file":         "IMAPMIGRATE_SMTP_CA_FILE",
	"smtp-connect-timeout": "IMAPMIGRATE_SMTP_CONNECT_TIMEOUT",
	"smtp-send-timeout":    "IMAPMIGRATE_SMTP_SEND_TIMEOUT",
	"notify-interval":      "IMAPMIGRATE_NOTIFY_INTERVAL",
}

// smtpFields say which flag sets each field of notify.Config.Validate's
// problems.
var smtpFields = map[string]string{
	"SMTPHost": "--smtp-host", "SMTPPort": "--smtp-port", "SMTPSecurity": "--smtp-security", "SMTPUser": "--smtp-user",
	"SMTPPassword": "--smtp-password-file", "SMTPFrom": "--smtp-from", "SMTPCAFile": "--smtp-ca-file",
	"SMTPConnectTimeout": "--smtp-connect-timeout", "SMTPSendTimeout": "--smtp-send-timeout",
}

func (o *smtpOptions) addFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&o.host, "smtp-host", "", "SMTP server for the batches' report e-mails (batch new --notify); none: no e-mails")
	fs.IntVar(&o.port, "smtp-port", 0, "its port (default 587 for tls, 465 for ssl, 25 for none)")
	fs.StringVar(&o.security, "smtp-security", "tls", "tls (STARTTLS, required), ssl (implicit TLS) or none")
	fs.StringVar(&o.user, "smtp-user", "", "log in to the SMTP server as this user (with --smtp-password-file)")
	fs.StringVar(&o.passwordFile, "smtp-password-file", "", "file holding the SMTP user's password")
	fs.StringVar(&o.from, "smtp-from", "", `sender of the report e-mails ("imapmigrate@example.com" or "Migration <imapmigrate@example.com>")`)
	fs.StringVar(&o.caFile, "smtp-ca-file", "", "CA certificate (PEM) to trust for the SMTP server, besides the system's")
	fs.DurationVar(&o.connectTimeout, "smtp-connect-timeout", notify.DefaultConnectTimeout, "time limit to connect and for each SMTP command")
	fs.DurationVar(&o.sendTimeout, "smtp-send-timeout", notify.DefaultSendTimeout, "time limit for one whole e-mail")
	fs.DurationVar(&o.interval, "notify-interval", notify.DefaultInterval, "how often batches are checked for report e-mails due, and failed ones retried")
	setFieldFlags(cmd, smtpFields)
}

// config is the SMTP configuration the flags and the environment give, not
// validated; Configured() false when none is given.
func (o *smtpOptions) config(fs *pflag.FlagSet) (notify.Config, error) {
	for flag, env := range smtpEnv {
		if v := os.Getenv(env); v != "" && !fs.Changed(flag) {
			if err := fs.Set(flag, v); err != nil {
				return notify.Config{}, withExit(ExitUsage, fmt.Errorf("$%s: %w", env, err))
			}
		}
	}
	c := notify.Config{Host: o.host, Port: o.port, User: o.user, From: o.from, CAFile: o.caFile,
		ConnectTimeout: o.connectTimeout, SendTimeout: o.sendTimeout}
	// The security alone (its default) configures nothing.
	if fs.Changed("smtp-security") || o.host != "" {
		c.Security = notify.Security(o.security)
	}
	if o.passwordFile != "" {
		pw, err := secretFrom("--smtp-password-file", o.passwordFile, "")
		if err != nil {
			return notify.Config{}, withExit(ExitUsage, err)
		}
		c.Password = sensitive.String(pw)
	}
	return c, nil
}

// notifier is the Notifier of serve or worker owner (its worker name), nil
// when no SMTP server is configured: then it warns when a batch wants
// report e-mails.
func (o *smtpOptions) notifier(cmd *cobra.Command, a *app, owner string) (*notify.Notifier, error) {
	cfg, err := o.config(cmd.Flags())
	if err != nil {
		return nil, err
	}
	if !cfg.Configured() {
		if bs, err := a.svc.Batches(cmd.Context(), ""); err == nil {
			for _, b := range bs {
				if len(b.NotificationEmails) > 0 {
					a.log.Warn("batches have report e-mail addresses, but no SMTP server is configured (--smtp-host): no report e-mails are sent", "batch", b.Name)
					break
				}
			}
		}
		return nil, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, serviceError(err)
	}
	opts := notify.Options{Service: a.svc, Outbox: a.store, SMTP: cfg, Name: owner, Log: a.log, StartedBy: startedBy(a), Interval: o.interval}
	if m := a.Metrics; m != nil {
		opts.OnSend = func(n *migration.Notification, err error) {
			result := "sent"
			if err != nil {
				result = "failed"
			}
			m.NotificationSent(string(n.Kind), result)
		}
	}
	n, err := notify.New(opts)
	if err != nil {
		return nil, serviceError(err)
	}
	a.log.Info("report e-mails", "smtp", cfg.Host+":"+strconv.Itoa(cfg.Port), "security", cfg.Security, "from", cfg.From)
	return n, nil
}

// auditScan bounds the audit log entries read to name who started a batch.
const auditScan = 5000

// startedBy names who started a batch from the audit log: the account of
// its latest "batch start", else of its "batch create" (with autostart);
// "" when the log does not say (a batch started from the command line).
func startedBy(a *app) func(ctx context.Context, batch string) string {
	if a.Auth == nil {
		return nil
	}
	return func(ctx context.Context, batch string) string {
		created := ""
		var before int64
		for read := 0; read < auditScan; {
			page, err := a.Auth.AuditLog(ctx, auth.MaxAuditPage, before)
			if err != nil || len(page) == 0 {
				break
			}
			for _, e := range page {
				if e.Object != batch {
					continue
				}
				switch e.Action {
				case "batch start":
					return e.Actor
				case "batch create":
					if created == "" {
						created = e.Actor
					}
				}
			}
			read += len(page)
			before = page[len(page)-1].ID
		}
		return created
	}
}
