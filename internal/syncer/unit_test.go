package syncer

import (
	"bufio"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
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
		strings.Replace(crlf, "body", "bo\rdy", 1),    // a bare CR, which Courier drops
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
		// What Courier stores: every CR dropped, a final LF added, served CRLF.
		if c := testenv.CourierStored(b); contentOf(c).Sum != whole.Sum || !whole.fits(int64(len(b)), int64(len(c))) {
			t.Fatalf("%q as Courier stores it, %q: another Content, or a size that does not fit", b, c)
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

func TestWalkUIDs(t *testing.T) {
	set := func(rs ...imap.UIDRange) imap.UIDSet { return imap.UIDSet(rs) }
	tests := []struct {
		name  string
		set   imap.UIDSet
		above imap.UID
		limit int
		want  []imap.UID
		err   string
	}{
		{"plain", set(imap.UIDRange{Start: 3, Stop: 5}, imap.UIDRange{Start: 9, Stop: 9}), 0, 10, []imap.UID{3, 4, 5, 9}, ""},
		{"above", set(imap.UIDRange{Start: 3, Stop: 5}), 4, 10, []imap.UID{5}, ""},
		{"the highest UID", set(imap.UIDRange{Start: 4294967295, Stop: 4294967295}), 0, 10, []imap.UID{4294967295}, ""},
		{"zero", set(imap.UIDRange{Start: 0, Stop: 0}), 0, 10, nil, "UID 0"},
		{"star", set(imap.UIDRange{Start: 5, Stop: 0}), 0, 10, nil, "UID 0"},
		{"everything", set(imap.UIDRange{Start: 1, Stop: 4294967295}), 0, 1000, nil, "more UIDs"},
		{"over the limit", set(imap.UIDRange{Start: 1, Stop: 11}), 0, 10, nil, "more UIDs"},
	}
	for _, tt := range tests {
		got, err := walkUIDs(tt.set, tt.above, tt.limit)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %v, %v; want an error about %q", tt.name, got, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// FuzzWalkUIDs: any set a server may send is walked within the limit,
// ascending and above the bound, or refused.
func FuzzWalkUIDs(f *testing.F) {
	f.Add(uint32(1), uint32(4294967295), uint32(0), uint32(7), uint32(0), 100)
	f.Add(uint32(4294967295), uint32(1), uint32(3), uint32(3), uint32(2), 5)
	f.Fuzz(func(t *testing.T, a, b, c, d uint32, above uint32, limit int) {
		limit = max(0, min(limit, 10000))
		var s imap.UIDSet
		s.AddRange(imap.UID(a), imap.UID(b))
		s.AddRange(imap.UID(c), imap.UID(d))
		got, err := walkUIDs(s, imap.UID(above), limit)
		if err != nil {
			return
		}
		if len(got) > limit {
			t.Fatalf("%d UIDs over the limit %d", len(got), limit)
		}
		for i, u := range got {
			if u <= imap.UID(above) || u == 0 || (i > 0 && u <= got[i-1]) {
				t.Fatalf("walkUIDs(%v, %d) = %v", s, above, got)
			}
		}
	})
}

// FuzzMessageID: any header yields a Message-ID without line breaks,
// read from no more than the header.
func FuzzMessageID(f *testing.F) {
	f.Add("Message-ID: <a@b>\r\n\r\nbody")
	f.Add("message-id:\r\n <folded@x>\r\n")
	f.Fuzz(func(t *testing.T, msg string) {
		id := messageID(bufio.NewReader(strings.NewReader(msg)))
		if strings.ContainsAny(id, "\r\n") {
			t.Fatalf("Message-ID %q holds a line break", id)
		}
	})
}

// BenchmarkContent: the digest every copied message goes through.
//
//	go test -run '^$' -bench Content -benchtime 200x ./internal/syncer
func BenchmarkContent(b *testing.B) {
	msg := testenv.GenMessage(rand.New(rand.NewPCG(1, 2)), 1<<20, testenv.WithAttachment())
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		contentOf(msg)
	}
}
