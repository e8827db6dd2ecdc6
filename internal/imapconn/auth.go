package imapconn

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/emersion/go-sasl"
)

// saslClient returns the SASL mechanism for cfg, or nil for LOGIN.
func saslClient(cfg *Config) (sasl.Client, error) {
	switch cfg.Auth {
	case AuthLogin:
		return nil, nil
	case AuthPlain:
		// RFC 4616: authzid is the identity to act as, authcid the one whose
		// password this is (an admin, for a master login).
		return sasl.NewPlainClient(cfg.Authzid, cfg.User, cfg.Password.Reveal()), nil
	case AuthXOAUTH2:
		return &xoauth2Client{user: cfg.User, token: cfg.Password.Reveal()}, nil
	case AuthOAuthBearer:
		_, p, _ := net.SplitHostPort(cfg.Address())
		port, _ := strconv.Atoi(p)
		return sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: cfg.User, Token: cfg.Password.Reveal(), Host: cfg.Host, Port: port}), nil
	}
	return nil, fmt.Errorf("unknown auth mechanism %q", cfg.Auth)
}

// xoauth2Client is the XOAUTH2 mechanism of Google and Microsoft, which
// go-sasl lacks. On failure the server sends a JSON challenge, which the
// client must answer with an empty response before the tagged NO arrives.
type xoauth2Client struct {
	user, token string
	failed      bool
}

func (c *xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *xoauth2Client) Next(challenge []byte) ([]byte, error) {
	if c.failed {
		return nil, errors.New("xoauth2: unexpected second challenge")
	}
	c.failed = true
	return []byte{}, nil
}
