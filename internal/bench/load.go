package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// Timeouts of the benchmark's own IMAP sessions. A session is closed when its
// time is up, which fails the command in flight.
const (
	// loadTimeout bounds loading one user's corpus into the source.
	loadTimeout = 10 * time.Minute
	// countTimeout bounds counting one user's folders.
	countTimeout = 2 * time.Minute
)

// Load bounds: a chunk of pipelined APPENDs is sent before the answers are
// awaited; it holds at most this many messages or bytes (one message more
// when a single one is bigger).
const (
	loadChunkMessages = 64
	loadChunkBytes    = 8 << 20
)

// Load appends every user's messages to d through its plain port with master
// logins, all users at once, and then checks each folder's count. Message
// bytes are generated chunk by chunk, never all held at once. The users must
// exist on d.
func Load(ctx context.Context, d *testenv.Dovecot, c *Corpus, log *slog.Logger) error {
	errs := make([]error, len(c.Users))
	var wg sync.WaitGroup
	for i, u := range c.Users {
		wg.Go(func() {
			if err := loadUser(ctx, d, u); err != nil {
				errs[i] = fmt.Errorf("load %s: %w", u.Name, err)
				return
			}
			errs[i] = checkCounts(ctx, d, u.Name, u.Counts(), "source")
			if errs[i] == nil {
				log.Debug("user loaded", "user", u.Name)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func loadUser(ctx context.Context, d *testenv.Dovecot, u User) error {
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	c, release, err := dialMaster(ctx, d, u.Name)
	if err != nil {
		return err
	}
	defer release()
	for _, f := range u.Folders {
		if err := testenv.CreateMailbox(c, f.Name); err != nil {
			return err
		}
		var chunk []testenv.Message
		var bytes int
		flush := func() error {
			if len(chunk) == 0 {
				return nil
			}
			_, err := testenv.Append(c, f.Name, chunk...)
			chunk, bytes = chunk[:0], 0
			return err
		}
		for _, m := range f.Messages {
			body := m.Body()
			chunk = append(chunk, testenv.Message{Body: body, Flags: m.Flags, InternalDate: m.Date})
			bytes += len(body)
			if len(chunk) >= loadChunkMessages || bytes >= loadChunkBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	return c.Logout().Wait()
}

// dialMaster logs in to user's mailbox on d's plain port with the master
// login. The session is closed when ctx ends, which fails any command in
// flight: that is how every round trip here is bounded. The caller must call
// release when done.
func dialMaster(ctx context.Context, d *testenv.Dovecot, user string) (c *imapclient.Client, release func(), err error) {
	c, err = testenv.DialLogin(d.Addr(), d.MasterLogin(user), d.MasterPassword, nil)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	return c, func() {
		stop()
		c.Close()
	}, nil
}

// FolderCounts returns the number of messages in each selectable folder of
// user's mailbox on d (LIST "" "*", then STATUS).
func FolderCounts(ctx context.Context, d *testenv.Dovecot, user string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, countTimeout)
	defer cancel()
	c, release, err := dialMaster(ctx, d, user)
	if err != nil {
		return nil, err
	}
	defer release()
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	counts := make(map[string]int, len(list))
	for _, mb := range list {
		if slices.Contains(mb.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(mb.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		st, err := c.Status(mb.Mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			return nil, fmt.Errorf("status %q: %w", mb.Mailbox, err)
		}
		if st.NumMessages != nil {
			counts[mb.Mailbox] = int(*st.NumMessages)
		}
	}
	return counts, c.Logout().Wait()
}

// checkCounts compares user's folders on d with want and reports every
// difference in one error: a folder of want with another count, or another
// folder holding messages. Empty extra folders (parents a tool created) are
// fine.
func checkCounts(ctx context.Context, d *testenv.Dovecot, user string, want map[string]int, side string) error {
	got, err := FolderCounts(ctx, d, user)
	if err != nil {
		return fmt.Errorf("count %s folders of %s: %w", side, user, err)
	}
	if diffs := diffCounts(want, got); len(diffs) > 0 {
		return fmt.Errorf("%s folders of %s differ: %v", side, user, diffs)
	}
	return nil
}

// diffCounts lists the differences between two folder → count maps, sorted.
func diffCounts(want, got map[string]int) []string {
	var diffs []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[name]
		switch {
		case !ok && want[name] > 0:
			diffs = append(diffs, fmt.Sprintf("%q missing (want %d)", name, want[name]))
		case g != want[name]:
			diffs = append(diffs, fmt.Sprintf("%q has %d, want %d", name, g, want[name]))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[name]; !ok && got[name] > 0 {
			diffs = append(diffs, fmt.Sprintf("%q unexpected with %d", name, got[name]))
		}
	}
	return diffs
}
