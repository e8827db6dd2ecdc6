package imapconn

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"
)

// dial connects to cfg's server and negotiates TLS as configured. It returns
// the connection (traced when log is at LevelTrace), a reader positioned after
// the greeting, and the greeting line.
//
// STARTTLS is done here rather than by go-imap, so that the trace sits above
// TLS and one code path serves both Client and Appender. A server that does
// not offer STARTTLS when it is required is refused: nothing is sent in
// clear.
func dial(ctx context.Context, cfg *Config, log *slog.Logger) (net.Conn, *bufio.Reader, string, error) {
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return nil, nil, "", &Error{Class: Fatal, Op: "connect to " + cfg.Address(), Err: fmt.Errorf("%w: %s must name a readable PEM file of CA certificates", err, cfg.flag("ca-file"))}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.dialTimeout())
	defer cancel()
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", cfg.Address())
	if err != nil {
		return nil, nil, "", explainDial(cfg, err)
	}
	conn := raw
	if cfg.Security == SecuritySSL {
		tc := tls.Client(raw, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, nil, "", explainDial(cfg, err)
		}
		conn = tc
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	conn = withTrace(conn, log)
	br := bufio.NewReader(conn)
	if cfg.Security != SecuritySSL {
		// A server greets at once; silence usually means a TLS port.
		conn.SetReadDeadline(time.Now().Add(min(cfg.dialTimeout(), 10*time.Second)))
	}
	greeting, err := readResponse(br)
	if err != nil {
		conn.Close()
		var ne net.Error
		if cfg.Security != SecuritySSL && (errors.Is(err, io.EOF) || (errors.As(err, &ne) && ne.Timeout())) {
			return nil, nil, "", &Error{Class: Fatal, Op: "connect to " + cfg.Address(), Err: fmt.Errorf(
				"%w: no IMAP greeting; this port probably expects implicit TLS: use %s ssl (or the STARTTLS port, usually 143)", err, cfg.flag("security"))}
		}
		return nil, nil, "", explainDial(cfg, err)
	}
	if !strings.HasPrefix(greeting, "* OK") && !strings.HasPrefix(greeting, "* PREAUTH") {
		conn.Close()
		class := Fatal
		if strings.HasPrefix(greeting, "* BYE") {
			class = Transient
		}
		return nil, nil, "", &Error{Class: class, Op: "connect to " + cfg.Address(), Err: fmt.Errorf("server greeting: %s", greeting)}
	}
	if cfg.Security == SecurityStartTLS {
		if strings.HasPrefix(greeting, "* PREAUTH") {
			conn.Close()
			return nil, nil, "", &Error{Class: Fatal, Op: "connect to " + cfg.Address(), Err: errors.New("server sent PREAUTH on a connection that must use STARTTLS")}
		}
		if _, err := io.WriteString(conn, "S0 STARTTLS\r\n"); err != nil {
			conn.Close()
			return nil, nil, "", explainDial(cfg, err)
		}
		for {
			line, err := readResponse(br)
			if err != nil {
				conn.Close()
				return nil, nil, "", explainDial(cfg, err)
			}
			if strings.HasPrefix(line, "S0 ") {
				if !strings.HasPrefix(line, "S0 OK") {
					conn.Close()
					return nil, nil, "", &Error{Class: Fatal, Op: "connect to " + cfg.Address(), Err: fmt.Errorf(
						"the server does not offer STARTTLS (%s): use %s ssl with its implicit-TLS port (993), or none only on a trusted network", strings.TrimPrefix(line, "S0 "), cfg.flag("security"))}
				}
				break
			}
		}
		if br.Buffered() > 0 {
			conn.Close()
			return nil, nil, "", &Error{Class: Fatal, Op: "connect to " + cfg.Address(), Err: errors.New("server sent data after STARTTLS before the TLS handshake (possible injection attack)")}
		}
		base := raw
		tc := tls.Client(base, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, nil, "", explainDial(cfg, err)
		}
		if deadline, ok := ctx.Deadline(); ok {
			tc.SetDeadline(deadline)
		}
		conn = withTrace(tc, log)
		br = bufio.NewReader(conn)
		greeting = "* OK [STARTTLS] TLS negotiated"
	}
	conn.SetDeadline(time.Time{})
	return conn, br, greeting, nil
}

// greetedConn replays what dial has already read (the greeting, and anything
// buffered after it) to go-imap, which expects to read the greeting itself.
type greetedConn struct {
	net.Conn
	r io.Reader
}

func (c *greetedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func newGreetedConn(conn net.Conn, br *bufio.Reader, greeting string) net.Conn {
	return &greetedConn{Conn: conn, r: io.MultiReader(strings.NewReader(greeting+"\r\n"), br)}
}
