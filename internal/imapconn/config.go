package imapconn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/sensitive"
)

// Security is how a connection is protected.
type Security string

const (
	SecurityNone     Security = "none" // plain text
	SecuritySSL      Security = "ssl"  // implicit TLS (port 993)
	SecurityStartTLS Security = "tls"  // STARTTLS, required (port 143)
)

// AuthMech is how a connection logs in.
type AuthMech string

const (
	AuthLogin       AuthMech = "login"       // LOGIN user password
	AuthPlain       AuthMech = "plain"       // SASL PLAIN, optional authzid
	AuthXOAUTH2     AuthMech = "xoauth2"     // SASL XOAUTH2 with a bearer token
	AuthOAuthBearer AuthMech = "oauthbearer" // SASL OAUTHBEARER (RFC 7628)
)

// Config says how to reach and log in to one IMAP account.
type Config struct {
	Host     string
	Port     int // 0: 993 for ssl, 143 otherwise
	Security Security

	// CAFile adds PEM certificates to trust; InsecureSkipVerify turns
	// verification off (explicitly, never by default).
	CAFile             string
	InsecureSkipVerify bool

	Auth     AuthMech
	User     string           // login name as written (may be an admin form: user*admin)
	Authzid  string           // SASL PLAIN authorization identity (the user), authcid = User
	Password sensitive.String // password, or bearer token for xoauth2/oauthbearer

	DialTimeout    time.Duration // default 30s
	CommandTimeout time.Duration // one command's round trip, default 2m

	// Name labels the connection in logs and errors ("source", "target").
	Name string
	// Flag names a setting (security, port, auth, ca-file,
	// insecure-skip-verify) in hints, the way the user changes it: sync's
	// --source-security, endpoint test's --security, "endpoint set
	// old-imap --security" for a stored endpoint. nil: "--NAME-setting" for
	// a named connection, "--setting" otherwise.
	Flag func(setting string) string
}

// flag names the setting for hints (Config.Flag).
func (c *Config) flag(name string) string {
	switch {
	case c.Flag != nil:
		return c.Flag(name)
	case c.Name != "":
		return "--" + c.Name + "-" + name
	}
	return "--" + name
}

// Address returns host:port.
func (c *Config) Address() string {
	port := c.Port
	if port == 0 {
		port = 143
		if c.Security == SecuritySSL {
			port = 993
		}
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

// Validate names the first bad setting and how to fix it.
func (c *Config) Validate() error {
	prefix := c.Name
	if prefix != "" {
		prefix += "-"
	}
	if c.Host == "" {
		return fmt.Errorf("--%shost is required", prefix)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("--%sport %d: must be between 1 and 65535", prefix, c.Port)
	}
	switch c.Security {
	case SecurityNone, SecuritySSL, SecurityStartTLS:
	default:
		return fmt.Errorf("--%ssecurity %q: must be none, ssl (implicit TLS) or tls (STARTTLS)", prefix, c.Security)
	}
	switch c.Auth {
	case AuthLogin, AuthPlain, AuthXOAUTH2, AuthOAuthBearer:
	default:
		return fmt.Errorf("--%sauth %q: must be login, plain, xoauth2 or oauthbearer", prefix, c.Auth)
	}
	if c.User == "" {
		return fmt.Errorf("--%suser is required", prefix)
	}
	if c.Authzid != "" && c.Auth != AuthPlain {
		return fmt.Errorf("--%sauthzid needs --%sauth plain", prefix, prefix)
	}
	if c.Password == "" {
		return fmt.Errorf("%s password is empty: give --%spassword-file or the environment variable", c.Name, prefix)
	}
	return nil
}

func (c *Config) dialTimeout() time.Duration {
	if c.DialTimeout > 0 {
		return c.DialTimeout
	}
	return 30 * time.Second
}

func (c *Config) commandTimeout() time.Duration {
	if c.CommandTimeout > 0 {
		return c.CommandTimeout
	}
	return 2 * time.Minute
}

// tlsConfig builds the TLS settings: system roots plus CAFile.
func (c *Config) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	if c.InsecureSkipVerify {
		cfg.InsecureSkipVerify = true
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// label names the account in messages: "target terry@new.example at imap.new.example:143".
func (c *Config) label() string {
	var sb strings.Builder
	if c.Name != "" {
		sb.WriteString(c.Name + " ")
	}
	sb.WriteString(fmt.Sprintf("%q at %s", c.User, c.Address()))
	return sb.String()
}
