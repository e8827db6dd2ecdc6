package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Mail is one report e-mail, as a Sender sends it.
type Mail struct {
	From        string
	To          []string
	Subject     string
	Body        string // text/plain, UTF-8
	Attachments []migration.Attachment
	// MessageID is stable for the notification (every attempt the same),
	// so that a mail sent twice (a process died before recording that it
	// was sent) can be told a duplicate by its recipients' servers.
	MessageID string
	Date      time.Time
}

// Sender sends a mail; a returned error means it may not have been
// accepted (and is tried again later).
type Sender interface {
	Send(ctx context.Context, m *Mail) error
}

// SMTP sends mails through an SMTP server with go-mail, one connection per
// mail.
type SMTP struct {
	cfg Config
}

// NewSMTP validates cfg and returns its Sender.
func NewSMTP(cfg Config) (*SMTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &SMTP{cfg: cfg}, nil
}

var _ Sender = (*SMTP)(nil)

// message builds the MIME message of m.
func message(m *Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("from %q: %w", m.From, err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	msg.Subject(m.Subject)
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetDateWithValue(m.Date)
	msg.SetUserAgent("imapmigrate")
	// An automatic mail (RFC 3834): no out-of-office replies to it.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBulk()
	msg.SetBodyString(gomail.TypeTextPlain, m.Body)
	for _, a := range m.Attachments {
		ct := gomail.ContentType(a.ContentType)
		if ct == "" {
			ct = gomail.TypeAppOctetStream
		}
		if err := msg.AttachReader(a.Name, bytes.NewReader(a.Content), gomail.WithFileContentType(ct)); err != nil {
			return nil, fmt.Errorf("attach %s: %w", a.Name, err)
		}
	}
	return msg, nil
}

// Send connects, logs in when configured, sends m and quits, all within
// the config's SendTimeout.
func (s *SMTP) Send(ctx context.Context, m *Mail) error {
	msg, err := message(m)
	if err != nil {
		return err
	}
	c := &s.cfg
	opts := []gomail.Option{gomail.WithPort(c.Port), gomail.WithTimeout(c.ConnectTimeout), gomail.WithHELO(helo(m.From))}
	switch c.Security {
	case SecuritySSL:
		opts = append(opts, gomail.WithSSL())
	case SecurityStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if c.Security != SecurityNone {
		tc, err := c.tlsConfig()
		if err != nil {
			return err
		}
		opts = append(opts, gomail.WithTLSConfig(tc))
	}
	if c.User != "" {
		auth := gomail.SMTPAuthAutoDiscover
		if c.Security == SecurityNone {
			// Only to a relay on this machine (Config.Validate).
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(c.User), gomail.WithPassword(c.Password.Reveal()))
	}
	client, err := gomail.NewClient(c.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp %s:%d: %w", c.Host, c.Port, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.SendTimeout)
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("smtp %s:%d: %w", c.Host, c.Port, err)
	}
	return nil
}

// helo is the name this client gives in EHLO: the domain of the sender.
func helo(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndex(a.Address, "@"); i >= 0 && i+1 < len(a.Address) {
			return a.Address[i+1:]
		}
	}
	return "localhost"
}

// temporary says whether a send error is worth trying again soon (a 4xx
// reply, a network error) rather than a refusal (5xx).
func temporary(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		return se.IsTemp()
	}
	return true
}
