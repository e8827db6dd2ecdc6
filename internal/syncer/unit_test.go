package syncer

import (
	"bufio"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestMessageID(t *testing.T) {
	tests := []struct{ name, msg, want string }{
		{"simple", "From: a@b\r\nMessage-ID: <abc@example.com>\r\n\r\nbody", "<abc@example.com>"},
		{"case", "message-id:   <X@Y>  \r\n\r\n", "<X@Y>"},
		{"folded", "Message-Id:\r\n <folded@example.com>\r\nSubject: x\r\n\r\n", "<folded@example.com>"},
		{"comment", "Message-ID: (comment) <c@d>\r\n\r\n", "<c@d>"},
		{"none", "From: a@b\r\nSubject: no id\r\n\r\nMessage-ID: <in-body@x>\r\n", ""},
		{"first wins", "Message-ID: <one@x>\r\nMessage-ID: <two@x>\r\n\r\n", "<one@x>"},
		{"bare LF", "Subject: s\nMessage-ID: <lf@x>\n\nbody", "<lf@x>"},
		{"no brackets", "Message-ID: plain-id\r\n\r\n", "plain-id"},
		{"not the header", "X-Message-ID: <no@x>\r\n\r\n", ""},
		{"header fields response", "Message-ID: <hf@x>\r\n\r\n", "<hf@x>"},
		{"empty message", "", ""},
	}
	for _, tt := range tests {
		if got := messageID(bufio.NewReader(strings.NewReader(tt.msg))); got != tt.want {
			t.Errorf("%s: messageID = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSigMatch(t *testing.T) {
	base := Signature{MessageID: "<a@b>", Date: 1700000000, Size: 10000}
	tests := []struct {
		name string
		t    Signature
		want bool
	}{
		{"same", base, true},
		{"other id", Signature{"<c@d>", base.Date, base.Size}, false},
		{"other date", Signature{base.MessageID, base.Date + 1, base.Size}, false},
		{"CRLF growth within 2%", Signature{base.MessageID, base.Date, 10150}, true},
		{"too large", Signature{base.MessageID, base.Date, 10300}, false},
		{"smaller", Signature{base.MessageID, base.Date, 9999}, false},
	}
	for _, tt := range tests {
		if got := sigMatch(base, tt.t); got != tt.want {
			t.Errorf("%s: sigMatch = %v, want %v", tt.name, got, tt.want)
		}
	}
	noID := Signature{Date: 5, Size: 100}
	if sigMatch(noID, Signature{Date: 5, Size: 101}) {
		t.Error("without Message-ID sizes must be equal")
	}
}

func TestPlanChunks(t *testing.T) {
	var metas []meta
	for i, size := range []int64{10, 10, 10, 100, 5, 5, 1000, 1} {
		metas = append(metas, meta{uid: imap.UID(i + 1), size: size})
	}
	got := planChunks(metas, 3, 50)
	var shape [][]imap.UID
	for _, c := range got {
		var uids []imap.UID
		for _, m := range c {
			uids = append(uids, m.uid)
		}
		shape = append(shape, uids)
	}
	want := [][]imap.UID{{1, 2, 3}, {4}, {5, 6}, {7}, {8}}
	if len(shape) != len(want) {
		t.Fatalf("planChunks = %v, want %v", shape, want)
	}
	for i := range want {
		if len(shape[i]) != len(want[i]) {
			t.Fatalf("planChunks = %v, want %v", shape, want)
		}
		for j := range want[i] {
			if shape[i][j] != want[i][j] {
				t.Fatalf("planChunks = %v, want %v", shape, want)
			}
		}
	}
}

func TestFlagFilter(t *testing.T) {
	src := []imap.Flag{imap.FlagSeen, flagRecent, imap.FlagDeleted, "$Forwarded", "Work", "bad(kw"}
	tests := []struct {
		name      string
		permanent []imap.Flag
		deleted   bool
		want      string
		dropped   int
	}{
		{"none announced: all", nil, false, `$Forwarded Work \seen`, 1},
		{"wildcard", []imap.Flag{imap.FlagSeen, imap.FlagDeleted, imap.FlagWildcard}, true, `$Forwarded Work \deleted \seen`, 1},
		{"no keywords (Exchange)", []imap.Flag{imap.FlagSeen, imap.FlagAnswered}, false, `\seen`, 3},
		{"listed keyword only", []imap.Flag{imap.FlagSeen, "$Forwarded"}, false, `$Forwarded \seen`, 2},
		{"system flags not listed", []imap.Flag{imap.FlagWildcard}, false, `$Forwarded Work \seen`, 1},
	}
	for _, tt := range tests {
		got, dropped := newFlagFilter(tt.permanent).filter(src, tt.deleted)
		if s := strings.Join(normFlags(got), " "); s != tt.want || dropped != tt.dropped {
			t.Errorf("%s: filter = %q dropped %d, want %q dropped %d", tt.name, s, dropped, tt.want, tt.dropped)
		}
	}
}
