package testenv

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmigrate/imapmigrate/internal/demoserver"
)

// Message is one message to seed: its bytes, flags (system flags and
// keywords) and INTERNALDATE (zero: the server's clock). Seeding lives in
// demoserver (the demo seeds with it); Append, CreateMailbox and Delimiter
// forward to it.
type Message = demoserver.Message

// MessageInfo is what Snapshot reads back about one message.
type MessageInfo struct {
	UID imap.UID
	// Flags are sorted, without \Recent (a session flag, not message state).
	Flags []imap.Flag
	// InternalDate is in UTC: servers keep the instant, not always the zone
	// (Dovecot's maildir stores it as the file's mtime).
	InternalDate time.Time
	// Size is RFC822.SIZE as the server reports it.
	Size int64
	// BodyLen and SHA256 (hex) are the length and hash of BODY.PEEK[], the
	// bytes an engine copies.
	BodyLen int64
	SHA256  string
}

// Seed is Append for tests: it fails the test on error.
func Seed(t testing.TB, c *imapclient.Client, mailbox string, msgs ...Message) []imap.UID {
	t.Helper()
	uids, err := Append(c, mailbox, msgs...)
	if err != nil {
		t.Fatalf("testenv: seed %q: %v", mailbox, err)
	}
	return uids
}

// Append creates mailbox and its parents if missing (see CreateMailbox) and
// appends msgs with pipelined APPEND commands, in order. It returns the UIDs
// from APPENDUID (zero where the server sent none).
func Append(c *imapclient.Client, mailbox string, msgs ...Message) ([]imap.UID, error) {
	return demoserver.Append(c, mailbox, msgs...)
}

// CreateMailbox creates mailbox and each missing parent, one CREATE per
// level, splitting on the server's hierarchy delimiter; existing mailboxes
// and INBOX are left alone (demoserver.CreateMailbox).
func CreateMailbox(c *imapclient.Client, mailbox string) error {
	return demoserver.CreateMailbox(c, mailbox)
}

// mailboxExists says whether LIST "" name lists name itself.
func mailboxExists(c *imapclient.Client, name string) (bool, error) {
	return demoserver.MailboxExists(c, name)
}

// Delimiter returns the server's hierarchy delimiter (LIST "" ""); 0 means a
// flat namespace.
func Delimiter(c *imapclient.Client) (rune, error) { return demoserver.Delimiter(c) }

// Snapshot is ReadSnapshot for tests: it fails the test on error.
func Snapshot(t testing.TB, c *imapclient.Client) map[string][]MessageInfo {
	t.Helper()
	s, err := ReadSnapshot(c)
	if err != nil {
		t.Fatalf("testenv: snapshot: %v", err)
	}
	return s
}

// ReadSnapshot reads every selectable mailbox (LIST "" "*") read-only
// (EXAMINE) and returns, per mailbox name, its messages sorted by UID.
// Mailboxes that are \Noselect or \NonExistent (implicit parents) are left
// out; empty mailboxes are present with an empty, non-nil slice. Bodies are
// streamed into SHA-256, never held in memory. The client is left with no
// mailbox selected.
func ReadSnapshot(c *imapclient.Client) (map[string][]MessageInfo, error) {
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	snap := make(map[string][]MessageInfo, len(list))
	for _, mb := range list {
		if slices.Contains(mb.Attrs, imap.MailboxAttrNoSelect) || slices.Contains(mb.Attrs, imap.MailboxAttrNonExistent) {
			continue
		}
		msgs, err := readMailbox(c, mb.Mailbox)
		if err != nil {
			return nil, err
		}
		snap[mb.Mailbox] = msgs
	}
	if c.Mailbox() != nil {
		// Courier has no UNSELECT; CLOSE expunges nothing after EXAMINE.
		unselect := c.Unselect
		if !c.Caps().Has(imap.CapUnselect) {
			unselect = c.UnselectAndExpunge
		}
		if err := unselect().Wait(); err != nil {
			return nil, fmt.Errorf("unselect: %w", err)
		}
	}
	return snap, nil
}

func readMailbox(c *imapclient.Client, name string) ([]MessageInfo, error) {
	sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("examine %q: %w", name, err)
	}
	msgs := []MessageInfo{}
	if sel.NumMessages == 0 {
		return msgs, nil
	}
	var all imap.UIDSet
	all.AddRange(1, 0) // 1:*
	cmd := c.Fetch(all, &imap.FetchOptions{
		UID:          true,
		Flags:        true,
		InternalDate: true,
		RFC822Size:   true,
		BodySection:  []*imap.FetchItemBodySection{{Peek: true}},
	})
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		info, err := readMessage(msg)
		if err != nil {
			cmd.Close()
			return nil, fmt.Errorf("fetch %q: %w", name, err)
		}
		msgs = append(msgs, info)
	}
	if err := cmd.Close(); err != nil {
		return nil, fmt.Errorf("fetch %q: %w", name, err)
	}
	slices.SortFunc(msgs, func(a, b MessageInfo) int { return cmp.Compare(a.UID, b.UID) })
	return msgs, nil
}

func readMessage(msg *imapclient.FetchMessageData) (MessageInfo, error) {
	var info MessageInfo
	for {
		item := msg.Next()
		if item == nil {
			return info, nil
		}
		switch item := item.(type) {
		case imapclient.FetchItemDataUID:
			info.UID = item.UID
		case imapclient.FetchItemDataFlags:
			info.Flags = normalizeFlags(item.Flags)
		case imapclient.FetchItemDataInternalDate:
			info.InternalDate = item.Time.UTC()
		case imapclient.FetchItemDataRFC822Size:
			info.Size = item.Size
		case imapclient.FetchItemDataBodySection:
			if item.Literal == nil {
				return info, errors.New("BODY[] without a literal")
			}
			h := sha256.New()
			n, err := io.Copy(h, item.Literal)
			if err != nil {
				return info, fmt.Errorf("read BODY[]: %w", err)
			}
			info.BodyLen, info.SHA256 = n, hex.EncodeToString(h.Sum(nil))
		}
	}
}

// normalizeFlags drops \Recent and sorts, so snapshots compare as values.
func normalizeFlags(flags []imap.Flag) []imap.Flag {
	out := make([]imap.Flag, 0, len(flags))
	for _, f := range flags {
		if !strings.EqualFold(string(f), `\Recent`) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// BodySHA256 is the hex SHA-256 of b, as MessageInfo.SHA256 holds it.
func BodySHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// DiffSnapshots compares two snapshots as an engine test wants it: the same
// mailboxes, and in each the same messages (bytes, size, flags compared
// case-insensitively, INTERNALDATE) whatever their UIDs and order. It returns one line per difference, sorted;
// none means equal. Mailboxes only in got are reported too.
func DiffSnapshots(want, got map[string][]MessageInfo) []string {
	var diffs []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[name]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("mailbox %q: missing (want %d messages)", name, len(want[name])))
			continue
		}
		diffs = append(diffs, diffMailbox(name, want[name], g)...)
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[name]; !ok {
			diffs = append(diffs, fmt.Sprintf("mailbox %q: unexpected (%d messages)", name, len(got[name])))
		}
	}
	slices.Sort(diffs)
	return diffs
}

// messageKey identifies a message's content and state, not its UID. Flags
// compare case-insensitively, as IMAP defines them (the in-process server
// lower-cases keywords; Dovecot keeps the case first used).
func messageKey(m MessageInfo) string {
	flags := make([]string, len(m.Flags))
	for i, f := range m.Flags {
		flags[i] = strings.ToLower(string(f))
	}
	slices.Sort(flags)
	return fmt.Sprintf("sha256=%s size=%d body=%d date=%s flags=(%s)",
		m.SHA256, m.Size, m.BodyLen, m.InternalDate.UTC().Format(time.RFC3339), strings.Join(flags, " "))
}

func diffMailbox(name string, want, got []MessageInfo) []string {
	count := map[string]int{}
	for _, m := range want {
		count[messageKey(m)]++
	}
	for _, m := range got {
		count[messageKey(m)]--
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(count)) {
		switch n := count[k]; {
		case n > 0:
			diffs = append(diffs, fmt.Sprintf("mailbox %q: missing %d× %s", name, n, k))
		case n < 0:
			diffs = append(diffs, fmt.Sprintf("mailbox %q: unexpected %d× %s", name, -n, k))
		}
	}
	return diffs
}
