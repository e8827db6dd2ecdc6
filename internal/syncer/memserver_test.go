package syncer_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// memPair is a source and a target in-process go-imap server: fast, and
// unlike Dovecot, no MULTIAPPEND (pipelined single APPENDs) and optionally
// no UIDPLUS (copies found by signature).
type memPair struct {
	src, tgt *testenv.MemServer
	state    string
}

func newMemPair(t *testing.T, tgtCaps imap.CapSet) *memPair {
	users := map[string]string{"terry": "pw"}
	return &memPair{
		src:   testenv.StartMemServer(t, testenv.MemServerOptions{Users: users, MasterUser: "admin", MasterPassword: "admin-pw"}),
		tgt:   testenv.StartMemServer(t, testenv.MemServerOptions{Users: users, Caps: tgtCaps}),
		state: filepath.Join(t.TempDir(), "state.db"),
	}
}

func (p *memPair) sync(t *testing.T) *syncer.Result {
	t.Helper()
	return p.syncWith(t, syncer.Options{ChunkMessages: 7, Retry: syncer.Retry{Base: time.Millisecond}})
}

func (p *memPair) syncWith(t *testing.T, opts syncer.Options) *syncer.Result {
	t.Helper()
	src := &imapconn.Config{Name: "source", Host: p.src.Host, Port: p.src.TLSPort, Security: imapconn.SecuritySSL, CAFile: p.src.CA.CAFile,
		Auth: imapconn.AuthLogin, User: "terry*admin", Password: "admin-pw"}
	tgt := &imapconn.Config{Name: "target", Host: p.tgt.Host, Port: p.tgt.Port, Security: imapconn.SecurityNone,
		Auth: imapconn.AuthPlain, User: "terry", Password: "pw"}
	res, err := runSyncer(t, p.state, "mem", src, tgt, opts, nil)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	for _, f := range res.Folders {
		if f.Error != "" {
			t.Fatalf("folder %q: %s", f.Source, f.Error)
		}
	}
	return res
}

func (p *memPair) check(t *testing.T) {
	t.Helper()
	src := testenv.Login(t, p.src.Addr(), "terry", "pw")
	tgt := testenv.Login(t, p.tgt.Addr(), "terry", "pw")
	diffViews(t, view(testenv.Snapshot(t, src), '/', nil), view(testenv.Snapshot(t, tgt), '/', nil))
}

func (p *memPair) seed(t *testing.T, rng *rand.Rand, mailbox string, n int) {
	t.Helper()
	c := testenv.Login(t, p.src.Addr(), "terry", "pw")
	var msgs []testenv.Message
	for i := 0; i < n; i++ {
		var opts []testenv.GenOption
		if i%5 == 0 {
			opts = append(opts, testenv.WithMessageID("<dup@x>"))
		}
		msgs = append(msgs, msg(rng, 500+rng.IntN(9000), []imap.Flag{imap.FlagSeen, "Work"}[:i%3%2*2], opts...))
	}
	testenv.Seed(t, c, mailbox, msgs...)
}

func TestMemServerCopyAndIncremental(t *testing.T) {
	p := newMemPair(t, nil)
	rng := rand.New(rand.NewPCG(1, 1))
	p.seed(t, rng, "INBOX", 40)
	p.seed(t, rng, "Projects/2024", 25)
	if res := p.sync(t); res.Copied != 65 {
		t.Errorf("copied %d, want 65", res.Copied)
	}
	p.check(t)
	p.seed(t, rng, "INBOX", 3)
	if res := p.sync(t); res.Copied != 3 {
		t.Errorf("incremental: copied %d, want 3", res.Copied)
	}
	p.check(t)
}

// Without UIDPLUS the target gives no APPENDUID: every chunk's copies are
// found by signature, duplicates included, and a later pass copies nothing.
func TestMemServerTargetWithoutUIDPLUS(t *testing.T) {
	p := newMemPair(t, imap.CapSet{imap.CapIMAP4rev1: {}})
	rng := rand.New(rand.NewPCG(2, 2))
	p.seed(t, rng, "INBOX", 30)
	if res := p.sync(t); res.Copied != 30 {
		t.Errorf("copied %d, want 30", res.Copied)
	}
	p.check(t)
	if res := p.sync(t); res.Copied != 0 {
		t.Errorf("second pass copied %d", res.Copied)
	}
	p.check(t)
}

// --max-items: the messages over the limit are skipped with the reason.
func TestMaxItems(t *testing.T) {
	p := newMemPair(t, nil)
	p.seed(t, rand.New(rand.NewPCG(3, 3)), "INBOX", 9)
	res := p.syncWith(t, syncer.Options{MaxItems: 5})
	if res.Copied != 5 || res.Skipped[syncer.SkipMaxItems] != 4 {
		t.Errorf("copied %d, skipped %v; want 5 copied and 4 max_items", res.Copied, res.Skipped)
	}
}

// --received-after: older messages are not copied, and reported as filtered.
func TestReceivedAfter(t *testing.T) {
	p := newMemPair(t, nil)
	p.seed(t, rand.New(rand.NewPCG(9, 9)), "INBOX", 30) // dates spread over 2019–2023
	cut := time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	res := p.syncWith(t, syncer.Options{ReceivedAfter: cut})
	if res.Copied == 0 || res.Skipped[syncer.SkipFiltered] == 0 || res.Copied+res.Skipped[syncer.SkipFiltered] != 30 {
		t.Fatalf("copied %d, skipped %v", res.Copied, res.Skipped)
	}
	for _, msgs := range testenv.Snapshot(t, testenv.Login(t, p.tgt.Addr(), "terry", "pw")) {
		for _, m := range msgs {
			if m.InternalDate.Before(cut) {
				t.Errorf("a message from %v was copied", m.InternalDate)
			}
		}
	}
}
