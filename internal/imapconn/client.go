package imapconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Client is an authenticated go-imap client with its server's capabilities.
type Client struct {
	*imapclient.Client
	Caps imap.CapSet
	cfg  *Config
	// unwatch stops closing the connection when Connect's ctx ends.
	unwatch func() bool
	conn    net.Conn
}

// Connect dials cfg's server, negotiates TLS and logs in. The connection is
// closed when ctx ends, so that nothing waits on it longer; every command
// fails when the server sends nothing for cfg's command timeout while it
// waits (see guardConn).
func Connect(ctx context.Context, cfg *Config, log *slog.Logger) (*Client, error) {
	conn, br, greeting, err := dial(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	guard := newGuardConn(newGreetedConn(conn, br, greeting), cfg.commandTimeout())
	c := imapclient.New(guard, &imapclient.Options{})
	// Login, CAPABILITY and ENABLE are bounded by the command timeout.
	loginCtx, cancel := context.WithTimeout(ctx, cfg.commandTimeout())
	defer cancel()
	stop := context.AfterFunc(loginCtx, func() { c.Close() })
	defer stop()
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, explainDial(cfg, err)
	}
	if c.State() != imap.ConnStateAuthenticated {
		if err := login(c, cfg); err != nil {
			c.Close()
			return nil, err
		}
	}
	caps := c.Caps()
	if caps == nil {
		c.Close()
		return nil, &Error{Class: Transient, Op: "capability", Err: errors.New("no capabilities")}
	}
	// go-imap sends UTF-8 mailbox names as soon as a server advertises
	// IMAP4rev2 (Cyrus does), which is only right once it is enabled.
	if caps.Has(imap.CapIMAP4rev2) {
		if _, err := c.Enable(imap.CapIMAP4rev2).Wait(); err != nil {
			c.Close()
			return nil, Classify(err, false)
		}
	}
	// Whatever waits on this connection ends when ctx does.
	unwatch := context.AfterFunc(ctx, func() { c.Close() })
	return &Client{Client: c, Caps: caps, cfg: cfg, unwatch: unwatch, conn: guard}, nil
}

func login(c *imapclient.Client, cfg *Config) error {
	mech, err := saslClient(cfg)
	if err != nil {
		return &Error{Class: Fatal, Op: "login", Err: err}
	}
	if mech == nil {
		if c.Caps().Has(imap.CapLoginDisabled) {
			return &Error{Class: Auth, Op: "login as " + cfg.label(), Err: fmt.Errorf(
				"the server refuses LOGIN on this connection (LOGINDISABLED): use %s tls or ssl, or a SASL mechanism it offers", cfg.flag("security"))}
		}
		err = c.Login(cfg.User, cfg.Password.Reveal()).Wait()
	} else {
		name, _, _ := mech.Start()
		if !c.Caps().Has(imap.Cap("AUTH=" + name)) {
			return &Error{Class: Auth, Op: "login as " + cfg.label(), Err: fmt.Errorf(
				"the server does not offer AUTH=%s (it offers %s)", name, authMechs(c.Caps()))}
		}
		err = c.Authenticate(mech)
	}
	if err != nil {
		return loginError(cfg, err)
	}
	return nil
}

// loginError classifies a failed login: a NO is an authentication failure
// unless the server says it is temporary.
func loginError(cfg *Config, err error) error {
	e := Classify(err, false)
	var ie *imap.Error
	if errors.As(err, &ie) && e.Class == Fatal {
		e.Class = Auth
	}
	e.Op = "login as " + cfg.label()
	return e
}

func authMechs(caps imap.CapSet) string {
	var mechs []string
	for c := range caps {
		if s := string(c); strings.HasPrefix(s, "AUTH=") {
			mechs = append(mechs, strings.TrimPrefix(s, "AUTH="))
		}
	}
	if len(mechs) == 0 {
		return "none"
	}
	return strings.Join(mechs, ", ")
}

// Label names the account: `target "terry" at host:143`.
func (c *Client) Label() string { return c.cfg.label() }

// Abort closes the connection at once, without waiting for anything: for
// a caller that refuses what the server is sending (a literal too large to
// read). Every command under way fails; Close must still be called.
func (c *Client) Abort() { c.conn.Close() }

// Close logs out politely (waiting at most 5 s), then closes the
// connection. Nothing of this client runs after it returns.
func (c *Client) Close() error {
	if c.unwatch != nil {
		c.unwatch()
	}
	done := make(chan struct{})
	go func() {
		c.Client.Logout().Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	err := c.Client.Close()
	<-done // the LOGOUT ends at once on a closed connection
	return err
}
