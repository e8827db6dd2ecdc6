package syncer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// The servers our users leave and move to, each as source and as target:
// the same faithful-copy, incremental, crash and lost-state checks on
// every pair of Dovecot, Cyrus and Courier.

// serverKind is one kind of real server in the matrix.
type serverKind struct {
	name  string
	start func(t *testing.T, ca *testenv.CA) testenv.Server
	// stored is what the server stores, and serves back, for a message
	// appended with these bytes: its documented normalisation (see
	// testenv's doc.go). The engine copies bytes verbatim; the target may
	// still change them so.
	stored func(body []byte) []byte
}

var matrixKinds = []serverKind{
	{
		name: "dovecot",
		start: func(t *testing.T, ca *testenv.CA) testenv.Server {
			return testenv.StartDovecot(t, testenv.DovecotOptions{CA: ca})
		},
		stored: bareLFAsCRLF, // stored as LF, served as CRLF
	},
	{
		name: "cyrus",
		start: func(t *testing.T, ca *testenv.CA) testenv.Server {
			return testenv.StartCyrus(t, testenv.CyrusOptions{CA: ca})
		},
		stored: func(b []byte) []byte { return b },
	},
	{
		name: "courier",
		start: func(t *testing.T, ca *testenv.CA) testenv.Server {
			return testenv.StartCourier(t, testenv.CourierOptions{CA: ca})
		},
		stored: testenv.CourierStored, // CRs dropped, a final LF added, served CRLF
	},
}

// bareLFAsCRLF writes every bare LF as CRLF.
func bareLFAsCRLF(b []byte) []byte {
	var out []byte
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

const matrixUser, matrixPass = "terry", "terry-pass-1"

// account is one side of a pair, as the tests see it.
type account struct {
	kind   serverKind
	srv    testenv.Server
	prefix string // personal namespace prefix, "INBOX." on Courier
	delim  rune
}

func startAccount(t *testing.T, k serverKind, ca *testenv.CA) *account {
	t.Helper()
	srv := k.start(t, ca)
	if err := srv.AddUser(matrixUser, matrixPass); err != nil {
		t.Fatal(err)
	}
	a := &account{kind: k, srv: srv}
	c := a.client(t)
	ns, err := c.Namespace().Wait()
	if err != nil || len(ns.Personal) == 0 {
		t.Fatalf("%s: NAMESPACE: %v %+v", k.name, err, ns)
	}
	a.prefix, a.delim = ns.Personal[0].Prefix, ns.Personal[0].Delim
	return a
}

func (a *account) client(t *testing.T) *imapclient.Client {
	return a.srv.Client(t, matrixUser, matrixPass)
}

// name is the server's name of a folder path ("Archive/2024"); INBOX is
// INBOX.
func (a *account) name(path string) string {
	if path == "INBOX" {
		return path
	}
	return a.prefix + strings.ReplaceAll(path, "/", string(a.delim))
}

// path is the inverse of name.
func (a *account) path(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return strings.ReplaceAll(strings.TrimPrefix(name, a.prefix), string(a.delim), "/")
}

func (a *account) config(side string) *imapconn.Config {
	e := a.srv.Endpoint()
	return &imapconn.Config{Name: side, Host: e.Host, Port: e.TLSPort, Security: imapconn.SecuritySSL, CAFile: e.CA.CAFile,
		Auth: imapconn.AuthLogin, User: matrixUser, Password: matrixPass}
}

// mailMsg is a message as the comparison sees it.
type mailMsg struct {
	sum   string // SHA-256 of the bytes, or of what the target stores for them
	flags string
	date  time.Time
}

func (m mailMsg) String() string {
	return fmt.Sprintf("%s %s [%s]", m.sum[:12], m.date.Format(time.RFC3339), m.flags)
}

// read returns every selectable folder by path with its messages, sorted;
// stored, if set, is applied to each body first.
func (a *account) read(t *testing.T, stored func([]byte) []byte) map[string][]mailMsg {
	t.Helper()
	c := a.client(t)
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]mailMsg)
	for _, l := range list {
		if slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(l.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		sel, err := c.Select(l.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("%s: examine %q: %v", a.kind.name, l.Mailbox, err)
		}
		msgs := []mailMsg{}
		if sel.NumMessages > 0 {
			var all imap.SeqSet
			all.AddRange(1, sel.NumMessages)
			section := &imap.FetchItemBodySection{Peek: true}
			bufs, err := c.Fetch(all, &imap.FetchOptions{Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
			if err != nil {
				t.Fatalf("%s: fetch %q: %v", a.kind.name, l.Mailbox, err)
			}
			for _, b := range bufs {
				body := b.FindBodySection(section)
				if stored != nil {
					body = stored(body)
				}
				sum := sha256.Sum256(body)
				msgs = append(msgs, mailMsg{sum: hex.EncodeToString(sum[:]), flags: flagString(b.Flags), date: b.InternalDate.UTC()})
			}
		}
		sort.Slice(msgs, func(i, j int) bool { return msgs[i].String() < msgs[j].String() })
		out[a.path(l.Mailbox)] = msgs
	}
	return out
}

func flagString(flags []imap.Flag) string {
	var out []string
	for _, f := range flags {
		s := string(f)
		if strings.HasPrefix(s, `\`) {
			s = strings.ToLower(s)
		}
		if s != `\recent` {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// subscriptions returns the subscribed folder paths, INBOX left out (some
// servers always list it).
func (a *account) subscriptions(t *testing.T) []string {
	t.Helper()
	app, err := imapconn.DialAppender(context.Background(), a.config("check"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	list, _, err := app.ListFolders(context.Background(), imapconn.ListLimits{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range list {
		if slices.Contains(l.Attrs, imap.MailboxAttrSubscribed) && l.Name != "INBOX" {
			out = append(out, a.path(l.Name))
		}
	}
	slices.Sort(out)
	return out
}

// sentUse reports whether the server has SPECIAL-USE and, if so, whether
// its folder "Sent" is listed with \Sent.
func (a *account) sentUse(t *testing.T) (offered, sent bool) {
	t.Helper()
	app, err := imapconn.DialAppender(context.Background(), a.config("check"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if !app.Has("SPECIAL-USE") {
		return false, false
	}
	list, _, err := app.ListFolders(context.Background(), imapconn.ListLimits{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range list {
		if a.path(l.Name) == "Sent" {
			return true, slices.Contains(l.Attrs, imap.MailboxAttrSent)
		}
	}
	return true, false
}

// matrixPair is a source and a target account and the state between them.
type matrixPair struct {
	src, tgt *account
	state    string
}

func (p *matrixPair) sync(t *testing.T) *syncer.Result {
	t.Helper()
	res, err := runSyncer(t, p.state, "matrix", p.src.config("source"), p.tgt.config("target"), syncer.Options{}, nil)
	if err != nil {
		t.Fatalf("%s → %s: sync: %v", p.src.kind.name, p.tgt.kind.name, err)
	}
	for _, f := range res.Folders {
		if f.Error != "" {
			t.Fatalf("%s → %s: folder %q: %s", p.src.kind.name, p.tgt.kind.name, f.Source, f.Error)
		}
	}
	return res
}

// assertFaithful compares the target with the source: the same folders,
// and in each the same messages — each once, byte for byte as the target
// stores the source's bytes, with the same flags and INTERNALDATE — and
// the same subscriptions.
func (p *matrixPair) assertFaithful(t *testing.T) {
	t.Helper()
	want := p.src.read(t, p.tgt.kind.stored)
	got := p.tgt.read(t, nil)
	var diffs []string
	for path, msgs := range want {
		g, ok := got[path]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("folder %q is missing on the target", path))
			continue
		}
		if !slices.Equal(msgs, g) {
			diffs = append(diffs, fmt.Sprintf("folder %q: source %d messages, target %d:\n  want %v\n  got  %v", path, len(msgs), len(g), msgs, g))
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			diffs = append(diffs, fmt.Sprintf("folder %q is on the target only", path))
		}
	}
	if len(diffs) > 0 {
		t.Fatalf("%s → %s: the target differs from the source:\n%s", p.src.kind.name, p.tgt.kind.name, strings.Join(diffs, "\n"))
	}
	if s, g := p.src.subscriptions(t), p.tgt.subscriptions(t); !slices.Equal(s, g) {
		t.Fatalf("%s → %s: subscriptions: source %q, target %q", p.src.kind.name, p.tgt.kind.name, s, g)
	}
}

// seedMatrix fills the source: nested and non-ASCII folders, an empty and
// an unsubscribed one; messages with flags and keywords, without
// Message-ID, true duplicates, messages that do not end in CRLF (which
// Courier, as a target, completes) and one with bare CRs (which it drops).
func seedMatrix(t *testing.T, a *account, rng *rand.Rand) {
	c := a.client(t)
	at := func(i int) time.Time {
		return time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * 97 * time.Minute)
	}
	gen := func(i, size int, flags []imap.Flag, opts ...testenv.GenOption) testenv.Message {
		return testenv.Message{Body: testenv.GenMessage(rng, size, opts...), Flags: flags, InternalDate: at(i)}
	}
	noEnd := func(m testenv.Message) testenv.Message {
		m.Body = bytes.TrimRight(m.Body, "\r\n")
		return m
	}
	bareCR := func(m testenv.Message) testenv.Message {
		m.Body = bytes.Replace(m.Body, []byte("\r\n\r\n"), []byte("\r\n\r\n\rbare CR:\r"), 1)
		return m
	}
	seen := []imap.Flag{imap.FlagSeen}
	dup := gen(10, 3000, seen, testenv.WithMessageID("<dup@example.com>"))
	inbox := []testenv.Message{
		gen(1, 1200, seen), gen(2, 30000, []imap.Flag{imap.FlagSeen, imap.FlagFlagged, "$Forwarded", "Work"}),
		gen(3, 800, nil, testenv.WithoutMessageID()), gen(4, 800, []imap.Flag{imap.FlagAnswered}, testenv.WithoutMessageID()),
		dup, dup,
		noEnd(gen(5, 2000, seen)),
		noEnd(gen(6, 900, nil, testenv.WithoutMessageID())),
		bareCR(gen(8, 1400, seen, testenv.WithoutMessageID())),
		gen(7, 120_000, seen, testenv.WithAttachment()),
	}
	testenv.Seed(t, c, "INBOX", inbox...)
	testenv.Seed(t, c, a.name("Archive/2024"), gen(20, 1500, seen), gen(21, 1600, seen), noEnd(gen(22, 1700, nil)))
	testenv.Seed(t, c, a.name("Entwürfe"), gen(30, 1000, []imap.Flag{imap.FlagDraft}))
	testenv.Seed(t, c, a.name("Sent"), gen(40, 1100, seen), gen(41, 1200, seen))
	testenv.Seed(t, c, a.name("Old"), gen(50, 1300, seen))
	if err := testenv.CreateMailbox(c, a.name("Empty")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"Archive", "Archive/2024", "Entwürfe", "Sent", "Empty"} {
		if err := c.Subscribe(a.name(p)).Wait(); err != nil {
			t.Fatalf("subscribe %s: %v", p, err)
		}
	}
	// "Old" stays unsubscribed (some servers subscribe what they create).
	c.Unsubscribe(a.name("Old")).Wait()
}

func TestServerMatrix(t *testing.T) {
	for _, sk := range matrixKinds {
		for _, tk := range matrixKinds {
			t.Run(sk.name+"→"+tk.name, func(t *testing.T) { runMatrix(t, sk, tk) })
		}
	}
}

func runMatrix(t *testing.T, sk, tk serverKind) {
	ca := testenv.NewTestCA(t)
	p := &matrixPair{src: startAccount(t, sk, ca), tgt: startAccount(t, tk, ca), state: filepath.Join(t.TempDir(), "state.db")}
	rng := rand.New(rand.NewPCG(7, 8))
	seedMatrix(t, p.src, rng)

	// First pass: everything, faithfully.
	res := p.sync(t)
	p.assertFaithful(t)
	t.Logf("first pass: %d copied, %d folders", res.Copied, res.FoldersSynced)
	// A target with SPECIAL-USE has "Sent" as its \Sent folder: created
	// with the use where it offers CREATE-SPECIAL-USE (Cyrus), or
	// configured so (Dovecot).
	if offered, sent := p.tgt.sentUse(t); offered && !sent {
		t.Errorf("the target offers SPECIAL-USE but its Sent folder is not \\Sent")
	}

	// Nothing new: nothing copied, nothing changed.
	if res := p.sync(t); res.Copied != 0 || res.FlagsUpdated != 0 || res.Matched != 0 {
		t.Errorf("second pass: copied %d, flags %d, matched %d; want 0", res.Copied, res.FlagsUpdated, res.Matched)
	}

	// New mail and flag changes arrive.
	c := p.src.client(t)
	testenv.Seed(t, c, "INBOX", testenv.Message{Body: testenv.GenMessage(rng, 2500), InternalDate: time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)},
		testenv.Message{Body: testenv.GenMessage(rng, 700, testenv.WithoutMessageID()), Flags: []imap.Flag{imap.FlagSeen}, InternalDate: time.Date(2024, 9, 2, 0, 0, 0, 0, time.UTC)})
	testenv.Seed(t, c, p.src.name("Archive/2024"), testenv.Message{Body: testenv.GenMessage(rng, 900), InternalDate: time.Date(2024, 9, 3, 0, 0, 0, 0, time.UTC)})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1, 3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged, "Important"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagSeen, "Work"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Fatal(err)
	}
	// Folder state left wrong on the target (a kill between CREATE and
	// SUBSCRIBE, a user's click) is repaired by the next pass.
	tc := p.tgt.client(t)
	if err := tc.Unsubscribe(p.tgt.name("Archive/2024")).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := tc.Subscribe(p.tgt.name("Old")).Wait(); err != nil {
		t.Fatal(err)
	}
	if res := p.sync(t); res.Copied != 3 || res.FlagsUpdated != 3 {
		t.Errorf("incremental pass: copied %d, flags updated %d; want 3 and 3", res.Copied, res.FlagsUpdated)
	}
	p.assertFaithful(t)

	// The state is lost: the map is rebuilt from what the target holds,
	// and nothing is copied twice.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(p.state + suffix)
	}
	if res := p.sync(t); res.Copied != 0 {
		t.Errorf("after the state was lost: %d copied again, want 0 (%d matched)", res.Copied, res.Matched)
	}
	p.assertFaithful(t)

	// kill -9 at random points of the work, then a clean run: every
	// message once.
	p.kill9(t, rng)
	p.assertFaithful(t)
}

// kill9 copies a new folder with the real CLI, killed again and again at
// random points (see killAndFinish). The CLI names the mailbox pair in the
// state by servers and users, not as p.sync does, so its first run finds
// no state: the lost-state rebuild, interrupted by kills too.
func (p *matrixPair) kill9(t *testing.T, rng *rand.Rand) {
	c := p.src.client(t)
	total := 0
	addBulk := func(n int) {
		var msgs []testenv.Message
		for i := 0; i < n; i++ {
			var opts []testenv.GenOption
			if i%7 == 0 {
				opts = append(opts, testenv.WithoutMessageID())
			}
			m := testenv.Message{Body: testenv.GenMessage(rng, 600+rng.IntN(3000), opts...), InternalDate: time.Date(2025, 1, 1, 0, 0, total+i, 0, time.UTC)}
			if i%5 == 0 {
				m.Body = bytes.TrimRight(m.Body, "\r\n")
			}
			msgs = append(msgs, m)
		}
		testenv.Seed(t, c, p.src.name("Bulk"), msgs...)
		total += n
	}
	addBulk(400)
	c.Subscribe(p.src.name("Bulk")).Wait()

	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte(matrixPass+"\n"), 0o600)
	se, te := p.src.srv.Endpoint(), p.tgt.srv.Endpoint()
	args := []string{"sync", "--log-level", "error", "--state", p.state, "--ca-file", se.CA.CAFile,
		"--source-host", se.Host, "--source-port", strconv.Itoa(se.TLSPort), "--source-security", "ssl",
		"--source-user", matrixUser, "--source-password-file", pw,
		"--target-host", te.Host, "--target-port", strconv.Itoa(te.TLSPort), "--target-security", "ssl",
		"--target-user", matrixUser, "--target-password-file", pw, "--parallel-folders", "3"}
	watch := p.tgt.client(t)
	bulk := p.tgt.name("Bulk")
	onTarget := func() int {
		st, err := watch.Status(bulk, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil || st.NumMessages == nil {
			return 0
		}
		return int(*st.NumMessages)
	}
	killAndFinish(t, rng, args, onTarget, func() int { return total }, func() { addBulk(200) })
}
