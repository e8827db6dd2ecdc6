package syncer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// A source that misbehaves fails that folder (or that mailbox) with an
// error that says what the server did, within a bounded time and memory,
// and never the process. Each case puts a Hostile proxy in front of an
// in-process source holding INBOX and Work, 5 messages each.

// hostileRun is one sync through a hostile source.
type hostileRun struct {
	res  *syncer.Result
	err  error
	took time.Duration
}

func runHostile(t *testing.T, intercept func(c *testenv.HostileConn, cmd testenv.HostileCommand) bool, opts syncer.Options) (*hostileRun, *testenv.Hostile, *memPair) {
	t.Helper()
	p := newMemPair(t, nil)
	rng := rand.New(rand.NewPCG(3, 4))
	p.seed(t, rng, "INBOX", 5)
	p.seed(t, rng, "Work", 5)
	h := testenv.StartHostile(t, testenv.HostileOptions{Upstream: p.src.Addr(), Intercept: intercept})
	return runThrough(t, p, h, opts), h, p
}

func runThrough(t *testing.T, p *memPair, h *testenv.Hostile, opts syncer.Options) *hostileRun {
	t.Helper()
	src := &imapconn.Config{Name: "source", Host: h.Host(), Port: h.Port(), Security: imapconn.SecurityNone,
		Auth: imapconn.AuthLogin, User: "terry", Password: "pw", CommandTimeout: 2 * time.Second}
	tgt := &imapconn.Config{Name: "target", Host: p.tgt.Host, Port: p.tgt.Port, Security: imapconn.SecurityNone,
		Auth: imapconn.AuthLogin, User: "terry", Password: "pw"}
	if opts.Retry.Base == 0 {
		opts.Retry = syncer.Retry{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}
	}
	start := time.Now()
	res, err := runSyncer(t, p.state, "hostile", src, tgt, opts, nil)
	return &hostileRun{res: res, err: err, took: time.Since(start)}
}

// folderErr returns the error of a folder, failing when it has none.
func folderErr(t *testing.T, res *syncer.Result, name string) string {
	t.Helper()
	for _, f := range res.Folders {
		if f.Source == name {
			if f.Error == "" {
				t.Fatalf("folder %s did not fail", name)
			}
			return f.Error
		}
	}
	t.Fatalf("folder %s is not in the result", name)
	return ""
}

func folderCopied(t *testing.T, res *syncer.Result, name string) int {
	t.Helper()
	for _, f := range res.Folders {
		if f.Source == name {
			if f.Error != "" {
				t.Fatalf("folder %s failed: %s", name, f.Error)
			}
			return f.Copied
		}
	}
	t.Fatalf("folder %s is not in the result", name)
	return 0
}

// inWork intercepts command name when Work is the selected folder; answer
// says whether it answered.
func inWork(name string, answer func(c *testenv.HostileConn, cmd testenv.HostileCommand) bool) func(*testenv.HostileConn, testenv.HostileCommand) bool {
	var mu sync.Mutex
	selected := map[*testenv.HostileConn]string{}
	return func(c *testenv.HostileConn, cmd testenv.HostileCommand) bool {
		mu.Lock()
		if cmd.Name == "SELECT" || cmd.Name == "EXAMINE" {
			box, _, _ := strings.Cut(strings.TrimPrefix(cmd.Args, `"`), `"`)
			selected[c] = strings.Fields(box + " ")[0]
		}
		inWork := selected[c] == "Work"
		mu.Unlock()
		return cmd.Name == name && inWork && answer(c, cmd)
	}
}

func TestHostileSearchAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, answer, want string
	}{
		{"highest UID", "* SEARCH 4294967295", "UIDNEXT"},
		{"UID zero", "* SEARCH 0", "UID 0"},
		{"more UIDs than messages", "* SEARCH" + uidList(1, 1100), "more UIDs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _, _ := runHostile(t, inWork("UID SEARCH", func(c *testenv.HostileConn, cmd testenv.HostileCommand) bool {
				c.Line(tc.answer)
				c.Line(cmd.Tag + " OK SEARCH completed")
				return true
			}), syncer.Options{})
			if r.err != nil {
				t.Fatalf("the whole sync failed: %v", r.err)
			}
			if e := folderErr(t, r.res, "Work"); !strings.Contains(e, tc.want) {
				t.Errorf("Work failed with %q, want it to say %q", e, tc.want)
			}
			if n := folderCopied(t, r.res, "INBOX"); n != 5 {
				t.Errorf("INBOX: %d copied, want 5", n)
			}
		})
	}
}

func uidList(from, to int) string {
	var sb strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&sb, " %d", i)
	}
	return sb.String()
}

// A server that stops answering after login: the sync ends within a few
// command timeouts (2 s here), and a cancelled context ends it at once.
func TestHostileSilentServer(t *testing.T) {
	silent := func(c *testenv.HostileConn, cmd testenv.HostileCommand) bool {
		return cmd.Name != "LOGIN" && cmd.Name != "CAPABILITY" && cmd.Name != "LOGOUT"
	}
	r, _, _ := runHostile(t, silent, syncer.Options{})
	if r.err == nil || !strings.Contains(r.err.Error(), "sent nothing") {
		t.Errorf("sync against a silent server: %v, want a timeout that says the server sent nothing", r.err)
	}
	t.Logf("ended after %s: %v", r.took, r.err)

	// Cancelled: returns promptly although every command would wait 2 s.
	p := newMemPair(t, nil)
	swallowed := make(chan struct{}, 1)
	h := testenv.StartHostile(t, testenv.HostileOptions{Upstream: p.src.Addr(), Intercept: func(c *testenv.HostileConn, cmd testenv.HostileCommand) bool {
		if !silent(c, cmd) {
			return false
		}
		select {
		case swallowed <- struct{}{}:
		default:
		}
		return true
	}})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenSQLite(ctx, p.state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mbox, _ := st.State(ctx, "hostile")
	src := &imapconn.Config{Name: "source", Host: h.Host(), Port: h.Port(), Security: imapconn.SecurityNone,
		Auth: imapconn.AuthLogin, User: "terry", Password: "pw", CommandTimeout: time.Hour}
	tgt := &imapconn.Config{Name: "target", Host: p.tgt.Host, Port: p.tgt.Port, Security: imapconn.SecurityNone,
		Auth: imapconn.AuthLogin, User: "terry", Password: "pw"}
	s := &syncer.Syncer{Source: &imapconn.Factory{Config: src}, Target: &imapconn.Factory{Config: tgt}, State: mbox}
	done := make(chan error, 1)
	go func() { _, err := s.Run(ctx); done <- err }()
	<-swallowed // the sync now waits for an answer that will never come
	cancel()
	if err := <-done; err == nil {
		t.Error("a cancelled sync reported success")
	}
}

// A body literal far larger than RFC822.SIZE and the limit is refused as
// soon as it is announced, recorded, and never fetched again.
func TestHostileHugeLiteral(t *testing.T) {
	const announced = 600_000_000
	var once atomic.Bool // the first body fetch of Work only
	intercept := inWork("UID FETCH", func(c *testenv.HostileConn, cmd testenv.HostileCommand) bool {
		if !strings.Contains(cmd.Args, "BODY.PEEK[]") || once.Swap(true) {
			return false
		}
		uid, _, _ := strings.Cut(cmd.Args, " ")
		uid, _, _ = strings.Cut(uid, ",")
		uid, _, _ = strings.Cut(uid, ":")
		c.Line(fmt.Sprintf("* 1 FETCH (UID %s BODY[] {%d}", uid, announced))
		c.Stream(announced)
		return true
	})
	r, h, p := runHostile(t, intercept, syncer.Options{MaxMessageSize: 1 << 20})
	if r.err != nil {
		t.Fatalf("sync: %v", r.err)
	}
	if sent := h.Sent.Load(); sent > 64<<20 {
		t.Errorf("the hostile server got %d bytes out before the client refused the literal", sent)
	}
	var work *syncer.FolderResult
	for _, f := range r.res.Folders {
		if f.Source == "Work" {
			work = &f
		}
	}
	if work == nil || work.Skipped[syncer.SkipTooLarge] != 1 || work.Copied != 4 || work.Error != "" {
		t.Fatalf("Work: %+v, want 4 copied and 1 skipped as too large", work)
	}
	if n := folderCopied(t, r.res, "INBOX"); n != 5 {
		t.Errorf("INBOX: %d copied, want 5", n)
	}
	// Again: the refused message is not asked for again.
	before := h.Sent.Load()
	r2 := runThrough(t, p, h, syncer.Options{MaxMessageSize: 1 << 20})
	if r2.err != nil {
		t.Fatal(r2.err)
	}
	if h.Sent.Load() != before {
		t.Errorf("the second pass fetched the refused message again")
	}
}

// Listings a server must not send: the mailbox fails with an error that
// says so, within bounded time and memory; a single bad entry is reported
// and the other folders are copied.
func TestHostileListings(t *testing.T) {
	listOf := func(write func(c *testenv.HostileConn, tag string)) func(*testenv.HostileConn, testenv.HostileCommand) bool {
		return func(c *testenv.HostileConn, cmd testenv.HostileCommand) bool {
			if cmd.Name != "LIST" || !strings.Contains(cmd.Args, `"*"`) {
				return false
			}
			write(c, cmd.Tag)
			return true
		}
	}
	endless := listOf(func(c *testenv.HostileConn, tag string) {
		for i := 0; ; i++ {
			if c.Line(fmt.Sprintf(`* LIST () "/" "Folder%d"`, i)) != nil {
				return
			}
		}
	})
	many := listOf(func(c *testenv.HostileConn, tag string) {
		var sb strings.Builder
		for i := 0; i < 100_000; i++ {
			fmt.Fprintf(&sb, "* LIST () \"/\" \"Folder%d\"\r\n", i)
		}
		c.Write([]byte(sb.String() + tag + " OK LIST done\r\n"))
	})
	hugeName := listOf(func(c *testenv.HostileConn, tag string) {
		c.Line(`* LIST () "/" {99999999999}`)
		c.Stream(-1)
	})
	for _, tc := range []struct {
		name      string
		intercept func(*testenv.HostileConn, testenv.HostileCommand) bool
		want      string
	}{
		{"endless", endless, "more than 10000 folders"},
		{"100,000 folders", many, "more than 10000 folders"},
		{"99999999999-byte name", hugeName, "99999999999-byte literal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, h, _ := runHostile(t, tc.intercept, syncer.Options{})
			if r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
				t.Fatalf("sync: %v, want an error saying %q", r.err, tc.want)
			}
			t.Logf("%s after %s, %d bytes sent: %v", tc.name, r.took, h.Sent.Load(), r.err)
			if sent := h.Sent.Load(); sent > 64<<20 {
				t.Errorf("the client read %d bytes before it refused the listing", sent)
			}
		})
	}

	for _, bad := range []string{"{8}\r\nBad\x00Name", "{9}\r\nBad\r\nName"} {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			intercept := func(c *testenv.HostileConn, cmd testenv.HostileCommand) bool {
				if cmd.Name != "LIST" || !strings.Contains(cmd.Args, `"*"`) {
					return false
				}
				c.Write([]byte("* LIST () \"/\" INBOX\r\n* LIST () \"/\" " + bad + "\r\n* LIST () \"/\" Work\r\n" + cmd.Tag + " OK LIST done\r\n"))
				return true
			}
			r, _, _ := runHostile(t, intercept, syncer.Options{})
			if r.err != nil {
				t.Fatalf("sync: %v", r.err)
			}
			if n := folderCopied(t, r.res, "INBOX") + folderCopied(t, r.res, "Work"); n != 10 {
				t.Errorf("%d copied, want 10", n)
			}
			found := false
			for _, f := range r.res.Folders {
				if strings.Contains(f.Error, "NUL, CR or LF") {
					found = true
				}
			}
			if !found || r.res.FoldersFailed != 1 {
				t.Errorf("the bad folder is not reported as failed: %+v", r.res.Folders)
			}
		})
	}
}

// panickyState panics when a pass asks for the map of one folder: a bug
// in the middle of a pass.
type panickyState struct {
	syncer.State
	folder string
}

func (s *panickyState) Messages(ctx context.Context, source string) (map[imap.UID]syncer.Message, error) {
	if source == s.folder {
		var m map[imap.UID]syncer.Message
		m[1] = syncer.Message{} // assignment to a nil map
	}
	return s.State.Messages(ctx, source)
}

// A panic in a folder's pass fails that folder, with the panic; the other
// folders are copied and the process goes on.
func TestPanicFailsOneFolder(t *testing.T) {
	p := newMemPair(t, nil)
	rng := rand.New(rand.NewPCG(5, 6))
	p.seed(t, rng, "INBOX", 4)
	p.seed(t, rng, "Work", 4)
	p.seed(t, rng, "Later", 4)
	src := &imapconn.Config{Name: "source", Host: p.src.Host, Port: p.src.Port, Security: imapconn.SecurityNone, Auth: imapconn.AuthLogin, User: "terry", Password: "pw"}
	tgt := &imapconn.Config{Name: "target", Host: p.tgt.Host, Port: p.tgt.Port, Security: imapconn.SecurityNone, Auth: imapconn.AuthLogin, User: "terry", Password: "pw"}
	res, err := runSyncer(t, p.state, "panic", src, tgt, syncer.Options{ParallelFolders: 1},
		func(s syncer.State) syncer.State { return &panickyState{State: s, folder: "Work"} })
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	if e := folderErr(t, res, "Work"); !strings.Contains(e, "panic") {
		t.Errorf("Work failed with %q, want the panic", e)
	}
	if n := folderCopied(t, res, "INBOX") + folderCopied(t, res, "Later"); n != 8 {
		t.Errorf("%d copied from the other folders, want 8", n)
	}
}
