package imapconn

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
)

// Fuzz targets for every parser of what a server sends (make fuzz runs
// each): none may panic, hold more than its bound, or accept what it must
// refuse.

func FuzzParseAppendUID(f *testing.F) {
	for _, s := range []string{"APPENDUID 38505 3955", "APPENDUID 1 5:8", "APPENDUID 7 3,9:10,12", "APPENDUID 7 1:4294967295", "APPENDUID 4294967295 4294967295"} {
		f.Add(s, 4)
	}
	f.Fuzz(func(t *testing.T, code string, want int) {
		want = max(0, min(want, 64))
		uv, uids := parseAppendUID(code, want)
		if len(uids) > want {
			t.Fatalf("parseAppendUID(%q, %d) gave %d UIDs", code, want, len(uids))
		}
		if len(uids) > 0 && uv == 0 {
			t.Fatalf("UIDs with UIDVALIDITY 0")
		}
		for _, u := range uids {
			if u == 0 {
				t.Fatalf("UID 0 from %q", code)
			}
		}
	})
}

func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{"* OK hi\r\n", "A1 OK [APPENDUID 1 2] done\r\n", "* 1 FETCH (BODY[] {3}\r\nabc)\r\n", "* LIST () \"/\" {99999}\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i < 64; i++ {
			line, err := readResponse(br)
			if err != nil {
				return
			}
			if len(line) > maxLine+64*16 {
				t.Fatalf("a %d-byte response", len(line))
			}
			if st := parseStatus(strings.TrimPrefix(line, "A1 ")); st.code != "" && !strings.Contains(line, "["+st.code+"]") {
				t.Fatalf("code %q is not the bracketed part of %q", st.code, line)
			}
		}
	})
}

type nopConn struct{ net.Conn }

// FuzzGuard: whatever the two sides send, the guard's scanners never
// panic, and it only ever holds tags the client sent.
func FuzzGuard(f *testing.F) {
	f.Add([]byte("A1 LOGIN {5}\r\nj\xc3\xb6rg {3}\r\npw!\r\nA2 SELECT INBOX\r\n"), []byte("+ go\r\nA1 OK\r\n* 3 EXISTS\r\nA2 OK\r\n"))
	f.Add([]byte("A1 AUTHENTICATE PLAIN\r\nAGpvcmcAcHc=\r\n"), []byte("+ \r\n* 1 FETCH (BODY[] {99999999999}\r\n"))
	f.Fuzz(func(t *testing.T, client, server []byte) {
		g := newGuardConn(nopConn{}, 0)
		for _, b := range bytes.SplitAfter(client, []byte("\n")) {
			g.client.feed(b, g.onClientLine, nil)
		}
		for _, b := range bytes.SplitAfter(server, []byte("\n")) {
			g.server.feed(b, g.onServerLine, g.checkServer)
		}
		if len(g.pending) > bytes.Count(client, []byte("\n"))+1 {
			t.Fatalf("%d tags pending from %d client lines", len(g.pending), bytes.Count(client, []byte("\n")))
		}
		if len(g.server.head) > scanHead || len(g.server.tail) > scanTail {
			t.Fatalf("scanner holds %d/%d bytes", len(g.server.head), len(g.server.tail))
		}
	})
}
