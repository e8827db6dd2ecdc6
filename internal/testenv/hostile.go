package testenv

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Hostile is an IMAP server that misbehaves on purpose, for tests of what a
// client does with answers it must not trust. It proxies a well-behaved
// plain-IMAP upstream (the in-process server, or Dovecot's plain port)
// response by response, and lets a test take over any command: Intercept
// sees each command the client sends and may answer it itself, with
// anything, or never.
type Hostile struct {
	// Addr is host:port of the plain listener (no TLS).
	Addr string

	ln   net.Listener
	opts HostileOptions
	wg   sync.WaitGroup
	// Sent counts the bytes intercepts wrote, over all connections.
	Sent     atomic.Int64
	commands atomic.Int64
}

// Commands is how many commands clients have sent, over all connections.
func (h *Hostile) Commands() int64 { return h.commands.Load() }

// HostileOptions configures StartHostile.
type HostileOptions struct {
	// Upstream is the host:port of a plain-IMAP server that answers what
	// Intercept does not.
	Upstream string
	// Intercept is called for each command line the client sends (commands
	// announcing a literal are always forwarded). It returns true when it
	// handled the command (answered it, or chose never to): the command is
	// then not forwarded. It runs on the connection's goroutine: a long
	// answer blocks the connection, as it would on a real server.
	Intercept func(c *HostileConn, cmd HostileCommand) bool
}

// HostileCommand is one command as the client sent it.
type HostileCommand struct {
	Tag string
	// Name is upper case; UID commands are "UID FETCH", "UID SEARCH"…
	Name string
	// Args is the rest of the line.
	Args string
	// Seq counts the connection's commands from 1.
	Seq int
}

// HostileConn is one client connection of a Hostile server.
type HostileConn struct {
	h      *Hostile
	client net.Conn
	mu     sync.Mutex // one response at a time towards the client
	// Conn counts the server's connections from 1.
	Conn int
}

// Write sends raw bytes to the client, whole, between upstream responses.
// It fails once the client has gone.
func (c *HostileConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.client.Write(p)
	c.h.Sent.Add(int64(n))
	return n, err
}

// Printf-free helpers keep intercepts short.

// Line writes s followed by CRLF.
func (c *HostileConn) Line(s string) error {
	_, err := c.Write([]byte(s + "\r\n"))
	return err
}

// Stream writes n bytes of filler (or forever, n < 0) until the client
// goes away; it returns how many were written.
func (c *HostileConn) Stream(n int64) int64 {
	buf := bytes.Repeat([]byte("x"), 32<<10)
	var sent int64
	for n < 0 || sent < n {
		chunk := buf
		if n >= 0 && n-sent < int64(len(chunk)) {
			chunk = chunk[:n-sent]
		}
		w, err := c.Write(chunk)
		sent += int64(w)
		if err != nil {
			break
		}
	}
	return sent
}

// StartHostile starts a Hostile server for the test and closes it, and
// every connection, when the test ends.
func StartHostile(t testing.TB, opts HostileOptions) *Hostile {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: hostile listen: %v", err)
	}
	h := &Hostile{Addr: ln.Addr().String(), ln: ln, opts: opts}
	var mu sync.Mutex
	var conns []net.Conn
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for n := 1; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				h.serve(c, n)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		h.wg.Wait()
	})
	return h
}

// Host and Port of the listener.
func (h *Hostile) Host() string { host, _, _ := net.SplitHostPort(h.Addr); return host }
func (h *Hostile) Port() int {
	_, p, _ := net.SplitHostPort(h.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (h *Hostile) serve(client net.Conn, n int) {
	defer client.Close()
	up, err := net.Dial("tcp", h.opts.Upstream)
	if err != nil {
		return
	}
	defer up.Close()
	c := &HostileConn{h: h, client: client, Conn: n}
	// Upstream → client, one whole response (with its literals) at a time,
	// so that an intercept's answer never lands inside one.
	go func() {
		defer client.Close()
		br := bufio.NewReader(up)
		for {
			resp, err := readWhole(br)
			if len(resp) > 0 {
				c.mu.Lock()
				_, werr := client.Write(resp)
				c.mu.Unlock()
				if werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	// Client → upstream, command by command.
	br := bufio.NewReader(client)
	for seq := 1; ; seq++ {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return
		}
		text := strings.TrimRight(string(line), "\r\n")
		if lit := literalSize(text); lit >= 0 {
			h.commands.Add(1)
			// Forward a command with literals as it comes: the line, the
			// literal, and the rest, until a line announces no literal.
			if _, err := up.Write(line); err != nil {
				return
			}
			for lit >= 0 {
				if _, err := io.CopyN(up, br, lit); err != nil {
					return
				}
				rest, err := br.ReadBytes('\n')
				if err != nil {
					return
				}
				if _, err := up.Write(rest); err != nil {
					return
				}
				lit = literalSize(strings.TrimRight(string(rest), "\r\n"))
			}
			continue
		}
		h.commands.Add(1)
		cmd := parseHostileCommand(text, seq)
		if h.opts.Intercept != nil && cmd.Tag != "" && h.opts.Intercept(c, cmd) {
			continue
		}
		if _, err := up.Write(line); err != nil {
			return
		}
	}
}

func parseHostileCommand(line string, seq int) HostileCommand {
	tag, rest, _ := strings.Cut(line, " ")
	name, args, _ := strings.Cut(rest, " ")
	name = strings.ToUpper(name)
	if name == "UID" {
		var sub string
		sub, args, _ = strings.Cut(args, " ")
		name += " " + strings.ToUpper(sub)
	}
	return HostileCommand{Tag: tag, Name: name, Args: args, Seq: seq}
}

// literalSize returns the size a line's trailing "{n}" or "{n+}" announces,
// or -1.
func literalSize(line string) int64 {
	if !strings.HasSuffix(line, "}") {
		return -1
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(line[i+1:len(line)-1], "+"), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// readWhole reads one response: its line and, for each literal it
// announces, the literal and the rest of the line.
func readWhole(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		line, err := br.ReadBytes('\n')
		out = append(out, line...)
		if err != nil {
			return out, err
		}
		lit := literalSize(strings.TrimRight(string(line), "\r\n"))
		if lit < 0 {
			return out, nil
		}
		buf := make([]byte, lit)
		if _, err := io.ReadFull(br, buf); err != nil {
			return out, err
		}
		out = append(out, buf...)
	}
}
