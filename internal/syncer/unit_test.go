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
	body := []byte("Message-ID: <a@b>\r\nSubject: x\r\n\r\nline one\r\nline two")
	c := contentOf(body)
	base := Signature{MessageID: "<a@b>", Date: 1700000000, Size: int64(len(body)), Content: c}
	noID := Signature{Date: base.Date, Size: base.Size, Content: c}
	sized := func(s Signature, n int64) Signature { s.Size = n; s.Content = Content{}; return s }
	tests := []struct {
		name string
		p, t Signature
		want matchKind
	}{
		{"same", base, sized(base, base.Size), matchYes},
		{"other id", base, Signature{MessageID: "<c@d>", Date: base.Date, Size: base.Size}, matchNo},
		{"other date", base, Signature{MessageID: base.MessageID, Date: base.Date + 1, Size: base.Size}, matchNo},
		{"a final CRLF added", base, sized(base, base.Size+2), matchContent},
		{"shorter", base, sized(base, base.Size-2), matchNo},
		{"much larger", base, sized(base, base.Size+300), matchNo},
		{"no Message-ID, same size", noID, sized(noID, noID.Size), matchContent},
		{"no Message-ID, CRLF added", noID, sized(noID, noID.Size+2), matchContent},
		{"no Message-ID, other size", noID, sized(noID, noID.Size+10), matchNo},
		{"source not read yet", Signature{Date: 5, Size: 100}, Signature{Date: 5, Size: 102}, matchContent},
		{"source not read yet, far too large", Signature{Date: 5, Size: 100}, Signature{Date: 5, Size: 300}, matchNo},
	}
	for _, tt := range tests {
		if got := sigMatch(tt.p, tt.t); got != tt.want {
			t.Errorf("%s: sigMatch = %v, want %v", tt.name, got, tt.want)
		}
	}
	// Contents decide.
	stored := Signature{Date: base.Date, Size: base.Size + 2, Content: contentOf(append(append([]byte{}, body...), "\r\n"...))}
	if !sameContent(noID, stored) {
		t.Error("a copy with a CRLF added is not recognised by its Content")
	}
	other := Signature{Date: base.Date, Size: base.Size, Content: contentOf([]byte(strings.Replace(string(body), "one", "two", 1)))}
	if sameContent(noID, other) {
		t.Error("two different messages of the same size matched")
	}
	// Intents from before Contents: the old rule.
	old := Signature{MessageID: "<a@b>", Date: 1, Size: 10000}
	if !sameContent(old, Signature{MessageID: "<a@b>", Date: 1, Size: 10150}) || sameContent(old, Signature{MessageID: "<a@b>", Date: 1, Size: 10300}) {
		t.Error("an intent without Content: want the 2% rule with a Message-ID")
	}
}

// Every copy a server may store of a message has its Content; a message
// that differs in anything but line ends and its final line ends does not.
func TestContent(t *testing.T) {
	crlf := "From: a\r\nSubject: b\r\n\r\nbody\r\nmore\r\n"
	same := []string{
		crlf,
		strings.TrimSuffix(crlf, "\r\n"),       // Courier adds the final CRLF to this
		strings.ReplaceAll(crlf, "\r\n", "\n"), // bare LF, as Dovecot stores it
		strings.TrimSuffix(crlf, "\r\n") + "\r\n\r\n", // an extra empty line at the end
	}
	want := contentOf([]byte(crlf))
	for _, s := range same {
		got := contentOf([]byte(s))
		if got.Sum != want.Sum || !got.fits(int64(len(s)), int64(len(crlf))) {
			t.Errorf("%q: %x, want %x (or size %d does not fit)", s, got.Sum[:4], want.Sum[:4], len(crlf))
		}
	}
	for _, s := range []string{
		strings.Replace(crlf, "body", "bodY", 1),
		strings.Replace(crlf, "\r\n\r\n", "\r\n\r\n\r\n", 1), // an empty line inside
		strings.Replace(crlf, "body", "bo\rdy", 1),           // a lone CR inside is content
		"\r\n" + crlf,
	} {
		if contentOf([]byte(s)).Sum == want.Sum {
			t.Errorf("%q has the Content of %q", s, crlf)
		}
	}
}

// FuzzContent: the digest does not depend on how the message is split into
// writes, and survives the normalisations of real servers.
func FuzzContent(f *testing.F) {
	f.Add([]byte("a\r\nb\r\n"), 1)
	f.Add([]byte("\r\r\n\n\rx\r"), 2)
	f.Fuzz(func(t *testing.T, b []byte, split int) {
		whole := contentOf(b)
		d := newDigester()
		if split > 0 {
			for p := b; len(p) > 0; {
				n := min(split, len(p))
				d.Write(p[:n])
				p = p[n:]
			}
		} else {
			d.Write(b)
		}
		if got := d.Content(); got != whole {
			t.Fatalf("split writes: %+v, whole: %+v", got, whole)
		}
		// Bare LF written as CRLF, and a CRLF appended: the same Content.
		var norm []byte
		for i, c := range b {
			if c == '\n' && (i == 0 || b[i-1] != '\r') {
				norm = append(norm, '\r')
			}
			norm = append(norm, c)
		}
		norm = append(norm, '\r', '\n')
		if got := contentOf(norm); got.Sum != whole.Sum || !whole.fits(int64(len(b)), int64(len(norm))) {
			t.Fatalf("%q normalised to %q: Content %x vs %x, fits %v", b, norm, got.Sum[:4], whole.Sum[:4], whole.fits(int64(len(b)), int64(len(norm))))
		}
	})
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
