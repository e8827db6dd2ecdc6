package imapconn

import (
	"errors"
	"strings"
	"testing"
)

// The guard knows which commands wait for an answer, through literals
// and SASL exchanges, and enforces the limits on server lines.
func TestGuardFollowsCommands(t *testing.T) {
	g := newGuardConn(nopConn{}, 0)
	client := func(s string) { g.client.feed([]byte(s), g.onClientLine, nil) }
	server := func(s string) { g.server.feed([]byte(s), g.onServerLine, g.checkServer) }

	client("A1 LOGIN {5}\r\n")
	server("+ ready\r\n")
	client("j\xc3\xb6rg {7}\r\n")
	server("+ ready\r\n")
	client("A2 fake\r\n") // literal bytes, not a command
	if len(g.pending) != 1 || !g.pending["A1"] {
		t.Fatalf("pending %v, want only A1 (the literal is not a command)", g.pending)
	}
	server("A1 OK logged in\r\n")
	client("A3 AUTHENTICATE PLAIN\r\n")
	server("+ \r\n")
	client("AGpvcmcAcGFzcw==\r\n") // a SASL response, not a command
	if len(g.pending) != 1 || !g.pending["A3"] {
		t.Fatalf("pending %v, want only A3", g.pending)
	}
	server("A3 OK\r\n")
	client("A4 UID FETCH 1 (BODY.PEEK[])\r\nA5 NOOP\r\n")
	server("* 1 FETCH (UID 1 BODY[] {12}\r\nA4 OK A5 OK\r\n)\r\n")
	if len(g.pending) != 2 {
		t.Fatalf("pending %v: a tag inside a literal answered a command", g.pending)
	}
	server("A4 OK done\r\nA5 OK done\r\n")
	if len(g.pending) != 0 || g.err != nil {
		t.Fatalf("pending %v, err %v", g.pending, g.err)
	}

	// A FETCH literal may be large; one in a LIST may not.
	server("* 2 FETCH (BODY[] {50000000}\r\n")
	if g.err != nil {
		t.Fatalf("a 50 MB FETCH literal: %v", g.err)
	}
	g = newGuardConn(nopConn{}, 0)
	g.server.feed([]byte("* LIST () \"/\" {99999999999}\r\n"), g.onServerLine, g.checkServer)
	if !errors.Is(g.err, ErrServerLimit) || !strings.Contains(g.err.Error(), "LIST") {
		t.Fatalf("a huge literal in LIST: %v", g.err)
	}
	g = newGuardConn(nopConn{}, 0)
	line := []byte("* SEARCH" + strings.Repeat(" 1", maxGuardLine/2+10))
	for i := 0; i < len(line); i += 1 << 16 {
		g.server.feed(line[i:min(i+1<<16, len(line))], g.onServerLine, g.checkServer)
	}
	if !errors.Is(g.err, ErrServerLimit) {
		t.Fatalf("a line over %d bytes: %v", maxGuardLine, g.err)
	}
}
