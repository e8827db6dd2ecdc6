package notify

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/mail"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

// Security is how the connection to the SMTP server is protected.
type Security string

const (
	SecurityNone     Security = "none" // no TLS (a relay on this machine only, when logging in)
	SecuritySSL      Security = "ssl"  // implicit TLS (submissions, port 465)
	SecurityStartTLS Security = "tls"  // STARTTLS, required (submission, port 587)
)

// Defaults of Config.
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultSendTimeout    = 2 * time.Minute
)

// Config is the SMTP server the report e-mails are sent through (serve's
// and worker's --smtp-… flags).
type Config struct {
	Host     string
	Port     int      // 0: 465 for ssl, 587 for tls, 25 for none
	Security Security // "": tls
	// User and Password log in (SMTP AUTH); both or neither.
	User     string
	Password sensitive.String
	// From is the sender of the mails: "imapmigrate@example.com" or
	// "Migration <imapmigrate@example.com>".
	From string
	// CAFile (PEM) is trusted for the server's certificate, besides the
	// system's roots.
	CAFile string
	// ConnectTimeout bounds connecting and each SMTP command; SendTimeout
	// one whole mail, from connecting to QUIT.
	ConnectTimeout time.Duration
	SendTimeout    time.Duration
}

// Configured says whether any setting was given: serve and worker send
// report e-mails only then (and Validate says what is missing).
func (c *Config) Configured() bool {
	return c.Host != "" || c.Port != 0 || c.Security != "" || c.User != "" || c.Password != "" || c.From != "" || c.CAFile != ""
}

// Validate fills in the defaults and reports every bad setting, each
// named by its field (SMTPHost, SMTPPort, SMTPSecurity, SMTPUser,
// SMTPPassword, SMTPFrom, SMTPCAFile, SMTPConnectTimeout,
// SMTPSendTimeout) as a migration.ValidationErrors.
func (c *Config) Validate() error {
	var bad migration.ValidationErrors
	add := func(field, value, format string, args ...any) {
		bad = append(bad, &migration.ValidationError{Field: field, Value: value, Fix: fmt.Sprintf(format, args...)})
	}
	if c.Host == "" {
		add("SMTPHost", "", "required: the SMTP server's host name, to send the report e-mails through")
	} else if strings.ContainsAny(c.Host, " /:@") && net.ParseIP(c.Host) == nil {
		add("SMTPHost", c.Host, "must be a host name or an IP address alone (the port is set on its own)")
	}
	if c.Security == "" {
		c.Security = SecurityStartTLS
	}
	switch c.Security {
	case SecurityNone, SecuritySSL, SecurityStartTLS:
	default:
		add("SMTPSecurity", string(c.Security), "must be none, ssl (implicit TLS, port 465) or tls (STARTTLS, port 587)")
	}
	if c.Port == 0 {
		switch c.Security {
		case SecuritySSL:
			c.Port = 465
		case SecurityNone:
			c.Port = 25
		default:
			c.Port = 587
		}
	}
	if c.Port < 1 || c.Port > 65535 {
		add("SMTPPort", strconv.Itoa(c.Port), "must be between 1 and 65535 (465 for ssl, 587 for tls, 25 for none)")
	}
	switch {
	case c.User != "" && c.Password == "":
		add("SMTPPassword", "", "required with a user: the SMTP user's password")
	case c.User == "" && c.Password != "":
		add("SMTPUser", "", "required with a password: the user to log in as")
	case c.User != "" && c.Security == SecurityNone && !loopback(c.Host):
		add("SMTPSecurity", string(c.Security), "the password would cross the network in clear: use ssl or tls, or a relay on this machine (localhost)")
	}
	if c.From == "" {
		add("SMTPFrom", "", "required: the sender address of the report e-mails")
	} else if a, err := mail.ParseAddress(c.From); err != nil || !strings.Contains(a.Address, "@") {
		add("SMTPFrom", c.From, "not a mailbox address: write it as imapmigrate@example.com or \"Migration <imapmigrate@example.com>\"")
	}
	if c.CAFile != "" {
		if _, err := c.rootCAs(); err != nil {
			add("SMTPCAFile", c.CAFile, "%v", err)
		}
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = DefaultSendTimeout
	}
	if c.ConnectTimeout < 0 {
		add("SMTPConnectTimeout", c.ConnectTimeout.String(), "must be positive")
	}
	if c.SendTimeout < 0 {
		add("SMTPSendTimeout", c.SendTimeout.String(), "must be positive")
	}
	if len(bad) > 0 {
		return bad
	}
	return nil
}

// loopback says whether host is this machine.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// rootCAs are the system's roots and CAFile's certificates.
func (c *Config) rootCAs() (*x509.CertPool, error) {
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read it: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no PEM certificate in it")
	}
	return pool, nil
}

// tlsConfig is the TLS of the connection: the server's name checked
// against its certificate, with CAFile trusted too.
func (c *Config) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := c.rootCAs()
		if err != nil {
			return nil, fmt.Errorf("smtp CA file %s: %w", c.CAFile, err)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
