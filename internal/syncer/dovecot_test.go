package syncer_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// pair is a source and a target Dovecot with one user each.
type pair struct {
	src, tgt         *testenv.Dovecot
	srcUser, tgtUser string
	statePath        string
}

func newPair(t *testing.T, srcSep, tgtSep rune) *pair {
	return newPairLayout(t, srcSep, "", tgtSep)
}

func newPairLayout(t *testing.T, srcSep rune, srcLayout string, tgtSep rune) *pair {
	return newPairConfig(t, srcSep, srcLayout, tgtSep, "")
}

// newPairConfig adds tgtExtra to the target's dovecot.conf.
func newPairConfig(t *testing.T, srcSep rune, srcLayout string, tgtSep rune, tgtExtra string) *pair {
	t.Helper()
	ca := testenv.NewTestCA(t)
	p := &pair{srcUser: "terry.adams", tgtUser: "terrya@new.example", statePath: filepath.Join(t.TempDir(), "state.db")}
	p.src = testenv.StartDovecot(t, testenv.DovecotOptions{Separator: srcSep, Layout: srcLayout, CA: ca, Users: map[string]string{p.srcUser: "old-pass"}})
	p.tgt = testenv.StartDovecot(t, testenv.DovecotOptions{Separator: tgtSep, ExtraConfig: tgtExtra, CA: ca, Users: map[string]string{p.tgtUser: "new-pass"}})
	return p
}

func (p *pair) srcClient(t *testing.T) *imapclient.Client {
	return p.src.Client(t, p.srcUser, "old-pass")
}

func (p *pair) tgtClient(t *testing.T) *imapclient.Client {
	return p.tgt.Client(t, p.tgtUser, "new-pass")
}

// sourceConfig logs in to the source as the Dovecot master user
// (terry.adams*mailadmin) over implicit TLS.
func (p *pair) sourceConfig() *imapconn.Config {
	return &imapconn.Config{Name: "source", Host: p.src.Host, Port: p.src.TLSPort, Security: imapconn.SecuritySSL,
		CAFile: p.src.CA.CAFile, Auth: imapconn.AuthLogin, User: p.src.MasterLogin(p.srcUser), Password: sensitive.String(p.src.MasterPassword)}
}

// targetConfig logs in to the target with SASL PLAIN, authzid = the user,
// authcid = the master user, over STARTTLS.
func (p *pair) targetConfig() *imapconn.Config {
	return &imapconn.Config{Name: "target", Host: p.tgt.Host, Port: p.tgt.Port, Security: imapconn.SecurityStartTLS,
		CAFile: p.tgt.CA.CAFile, Auth: imapconn.AuthPlain, User: p.tgt.MasterUser, Authzid: p.tgtUser, Password: sensitive.String(p.tgt.MasterPassword)}
}

func (p *pair) sync(t *testing.T, opts syncer.Options) *syncer.Result {
	t.Helper()
	res, err := p.trySync(t, opts, p.sourceConfig(), p.targetConfig())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	for _, f := range res.Folders {
		if f.Error != "" {
			t.Fatalf("folder %q failed: %s", f.Source, f.Error)
		}
	}
	return res
}

func (p *pair) trySync(t *testing.T, opts syncer.Options, src, tgt *imapconn.Config) (*syncer.Result, error) {
	return p.run(t, opts, src, tgt, nil)
}

func (p *pair) trySyncState(t *testing.T, opts syncer.Options, wrap func(syncer.State) syncer.State) (*syncer.Result, error) {
	return p.run(t, opts, p.sourceConfig(), p.targetConfig(), wrap)
}

func (p *pair) run(t *testing.T, opts syncer.Options, src, tgt *imapconn.Config, wrap func(syncer.State) syncer.State) (*syncer.Result, error) {
	t.Helper()
	return runSyncer(t, p.statePath, "test", src, tgt, opts, wrap)
}

// runSyncer runs one sync of the pair named key in the state at statePath,
// logging warnings to the test log; wrap, if set, wraps the state.
func runSyncer(t *testing.T, statePath, key string, src, tgt *imapconn.Config, opts syncer.Options, wrap func(syncer.State) syncer.State) (*syncer.Result, error) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, statePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mbox, err := st.State(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if opts.Retry.Base == 0 {
		opts.Retry.Base = 10 * time.Millisecond
	}
	var state syncer.State = mbox
	if wrap != nil {
		state = wrap(mbox)
	}
	s := &syncer.Syncer{Source: &imapconn.Factory{Config: src, Log: log}, Target: &imapconn.Factory{Config: tgt, Log: log},
		State: state, Options: opts, Log: log}
	return s.Run(ctx)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// folderView is what must be identical on both sides: per folder, the
// multiset of (body hash, flags, internal date).
type folderView map[string][]string

func view(snap map[string][]testenv.MessageInfo, sep rune, rename map[string]string) folderView {
	out := make(folderView)
	for name, msgs := range snap {
		n := strings.ReplaceAll(name, string(sep), "/")
		if r, ok := rename[n]; ok {
			n = r
		}
		var rows []string
		for _, m := range msgs {
			flags := make([]string, 0, len(m.Flags))
			for _, f := range m.Flags {
				flags = append(flags, string(f))
			}
			rows = append(rows, fmt.Sprintf("%s %d %s [%s]", m.SHA256, m.BodyLen, m.InternalDate.UTC().Format(time.RFC3339), strings.Join(flags, " ")))
		}
		sort.Strings(rows)
		out[n] = rows
	}
	return out
}

func diffViews(t *testing.T, want, got folderView) {
	t.Helper()
	var names []string
	for n := range want {
		names = append(names, n)
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		w, ok1 := want[n]
		g, ok2 := got[n]
		switch {
		case !ok1:
			t.Errorf("target has unexpected folder %q (%d messages)", n, len(g))
		case !ok2:
			t.Errorf("target lacks folder %q (%d messages)", n, len(w))
		case !slices.Equal(w, g):
			t.Errorf("folder %q differs: source %d messages, target %d\n source: %v\n target: %v", n, len(w), len(g), head(w), head(g))
		}
	}
}

func head(s []string) []string {
	if len(s) > 6 {
		return append(s[:6:6], "…")
	}
	return s
}

func msg(rng *rand.Rand, size int, flags []imap.Flag, opts ...testenv.GenOption) testenv.Message {
	date := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(5*365*24)) * time.Hour)
	return testenv.Message{Body: testenv.GenMessage(rng, size, append(opts, testenv.WithDate(date))...), Flags: flags, InternalDate: date.Add(37 * time.Second)}
}

// The whole engine against real Dovecots: folders (nested, empty,
// \Noselect parents, non-ASCII, '&', delimiter translation, special use),
// byte-exact messages with flags, keywords and dates, duplicates and
// missing Message-IDs, \Deleted and oversized messages skipped, master-user
// login on the source and SASL PLAIN authzid on the target, TLS and
// STARTTLS; then incremental passes.
func TestDovecotSyncFaithfulAndIncremental(t *testing.T) {
	// Source: '/' with one directory per folder, so that a name can hold
	// '.', the target's delimiter.
	p := newPairLayout(t, '/', "fs", '.')
	rng := rand.New(rand.NewPCG(1, 2))
	src := p.srcClient(t)

	seen := []imap.Flag{imap.FlagSeen}
	dup := testenv.WithMessageID("<same-id@example.com>")
	testenv.Seed(t, src, "INBOX",
		msg(rng, 2000, seen), msg(rng, 30000, []imap.Flag{imap.FlagSeen, imap.FlagFlagged, "$Forwarded", "Work"}),
		msg(rng, 500, nil, testenv.WithoutMessageID()), msg(rng, 500, nil, testenv.WithoutMessageID()),
		msg(rng, 4000, seen, dup), msg(rng, 4000, seen, dup),
		msg(rng, 3*1024*1024, []imap.Flag{imap.FlagAnswered}, testenv.WithAttachment()))
	deleted := msg(rng, 1000, []imap.Flag{imap.FlagDeleted})
	huge := msg(rng, 6*1024*1024, seen, testenv.WithAttachment())
	testenv.Seed(t, src, "INBOX", deleted, huge)
	testenv.Seed(t, src, "Sent Messages", msg(rng, 1500, seen), msg(rng, 1500, seen))
	testenv.Seed(t, src, "Archive/2023/Q1", msg(rng, 800, seen))
	testenv.Seed(t, src, "Kunder/已发送", msg(rng, 800, seen))
	testenv.Seed(t, src, "R&D", msg(rng, 800, []imap.Flag{imap.FlagDraft}))
	testenv.Seed(t, src, "Skräp/Borttaget", msg(rng, 900, nil))
	testenv.Seed(t, src, "v1.2", msg(rng, 700, nil)) // holds the target's delimiter
	if err := src.Create("Empty", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := src.Create("Parent/Child", nil).Wait(); err != nil { // Parent: \Noselect
		t.Fatal(err)
	}
	testenv.Seed(t, src, "Private", msg(rng, 900, nil))

	// The target has a \Sent folder (SPECIAL-USE): "Sent Messages" goes there.
	tgt := p.tgtClient(t)
	if err := tgt.Create("Sent", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	opts := syncer.Options{MaxMessageSize: 5 * 1024 * 1024, Exclude: []string{"Private"}}
	res := p.sync(t, opts)
	if res.Copied != 14 {
		t.Errorf("first pass copied %d messages, want 14", res.Copied)
	}
	if res.Skipped[syncer.SkipDeleted] != 1 || res.Skipped[syncer.SkipTooLarge] != 1 {
		t.Errorf("skipped = %v, want 1 deleted and 1 too_large", res.Skipped)
	}

	sep, err := testenv.Delimiter(tgt)
	if err != nil {
		t.Fatal(err)
	}
	rename := map[string]string{"Sent Messages": "Sent"}
	want := view(testenv.Snapshot(t, src), '/', rename)
	want["Parent"] = nil // a \Noselect parent becomes an empty folder
	// What must not arrive: the excluded folder, the deleted and the
	// oversized message; '/' in a source name is escaped on the target.
	delete(want, "Private")
	want["INBOX"] = slices.DeleteFunc(want["INBOX"], func(s string) bool {
		return strings.Contains(s, `\Deleted`) || strings.Contains(s, fmt.Sprintf(" %d ", len(huge.Body)))
	})
	got := view(testenv.Snapshot(t, tgt), sep, nil)
	escaped := ""
	for name := range got {
		if strings.HasPrefix(name, "v1") {
			escaped = name
		}
	}
	if escaped == "" || strings.Contains(escaped, "/") {
		t.Errorf("source folder \"v1.2\" should map to one escaped target folder, target folders: %v", keys(got))
	} else {
		want[escaped] = want["v1.2"]
		delete(want, "v1.2")
	}
	diffViews(t, want, got)

	// Nothing new: nothing copied, nothing flagged, every folder unchanged.
	res = p.sync(t, opts)
	if res.Copied != 0 || res.FlagsUpdated != 0 || res.Matched != 0 {
		t.Errorf("second pass: copied %d, flags %d, matched %d; want 0", res.Copied, res.FlagsUpdated, res.Matched)
	}

	// New mail and flag changes on the source.
	testenv.Seed(t, src, "INBOX", msg(rng, 1200, nil), msg(rng, 2400, seen))
	testenv.Seed(t, src, "Archive/2023/Q1", msg(rng, 800, nil))
	if _, err := src.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := src.Store(imap.UIDSetNum(1, 3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged, "Important"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Store(imap.UIDSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsDel, Silent: true, Flags: []imap.Flag{imap.FlagSeen, "Work"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	res = p.sync(t, opts)
	if res.Copied != 3 || res.FlagsUpdated != 3 {
		t.Errorf("incremental pass: copied %d, flags updated %d; want 3 and 3", res.Copied, res.FlagsUpdated)
	}
	want = view(testenv.Snapshot(t, src), '/', rename)
	want["Parent"] = nil
	delete(want, "Private")
	want["INBOX"] = slices.DeleteFunc(want["INBOX"], func(s string) bool {
		return strings.Contains(s, `\Deleted`) || strings.Contains(s, fmt.Sprintf(" %d ", len(huge.Body)))
	})
	want[escaped] = want["v1.2"]
	delete(want, "v1.2")
	diffViews(t, want, view(testenv.Snapshot(t, tgt), sep, nil))
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var _ = os.Getenv
