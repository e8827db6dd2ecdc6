package syncer

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// flagRecent is session-only and set by the server; it is never copied.
const flagRecent = imap.Flag(`\Recent`)

// flagFilter decides which flags the target folder can store, from its
// PERMANENTFLAGS. The standard system flags are always sent: a server
// stores them or keeps them for the session, never refuses them, and some
// servers omit them from PERMANENTFLAGS. Keywords are sent when the
// target announces no PERMANENTFLAGS (RFC 3501: everything is permanent),
// \* (any keyword), or the keyword itself; otherwise they are dropped and
// counted (Exchange Online stores none).
type flagFilter struct {
	all      bool // no PERMANENTFLAGS: anything goes
	keywords bool // \* : any keyword
	allowed  map[imap.Flag]bool
}

func newFlagFilter(permanent []imap.Flag) flagFilter {
	f := flagFilter{all: len(permanent) == 0, allowed: make(map[imap.Flag]bool)}
	for _, p := range permanent {
		if p == imap.FlagWildcard {
			f.keywords = true
		}
		f.allowed[imap.Flag(strings.ToLower(string(p)))] = true
	}
	return f
}

// systemFlags are the flags of RFC 3501 a client may set (lower case).
var systemFlags = map[string]bool{`\seen`: true, `\answered`: true, `\flagged`: true, `\deleted`: true, `\draft`: true}

// filter returns the flags to set on the target and how many it had to
// drop. \Recent is never set (the server owns it); \Deleted only when
// deleted messages are copied on purpose.
func (f flagFilter) filter(flags []imap.Flag, keepDeleted bool) ([]imap.Flag, int) {
	out := make([]imap.Flag, 0, len(flags))
	dropped := 0
	for _, fl := range flags {
		lower := strings.ToLower(string(fl))
		switch {
		case lower == `\recent`:
			continue
		case lower == `\deleted` && !keepDeleted:
			continue
		case strings.HasPrefix(lower, `\`):
			if systemFlags[lower] {
				out = append(out, fl)
			} else {
				dropped++ // a non-standard system flag: servers refuse them
			}
		case !validKeyword(string(fl)):
			dropped++
		case f.all || f.keywords || f.allowed[imap.Flag(lower)]:
			out = append(out, fl)
		default:
			dropped++
		}
	}
	return out, dropped
}

// validKeyword reports whether s is an IMAP atom usable as a keyword.
func validKeyword(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= 0x20 || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// sameFlags compares flag sets, ignoring order and case of system flags.
func sameFlags(a, b []imap.Flag) bool {
	return slices.Equal(normFlags(a), normFlags(b))
}

func normFlags(in []imap.Flag) []string {
	out := make([]string, 0, len(in))
	for _, f := range in {
		s := string(f)
		if strings.HasPrefix(s, `\`) {
			s = strings.ToLower(s)
		}
		if s != `\recent` {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// syncFlags brings the target flags of messages copied in earlier passes
// (source UID ≤ last) in line with the source, where the source changed
// them since they were last written. With CONDSTORE only the changed
// messages are fetched; otherwise all flags are compared.
func (f *folderRun) syncFlags(ctx context.Context, last imap.UID, condstore bool) error {
	var set imap.UIDSet
	set.AddRange(1, last)
	opts := &imap.FetchOptions{UID: true, Flags: true}
	if condstore {
		opts.ChangedSince = f.st.HighestModSeq
	}
	cmd := f.w.src.Fetch(set, opts)
	changed := make(map[string][]Message) // target flags → messages
	err := eachMessage(f.w.src, cmd, func(buf *imapclient.FetchMessageBuffer) {
		old, ok := f.mapped[buf.UID]
		if !ok || buf.UID == 0 {
			return
		}
		flags := withoutRecent(buf.Flags)
		if sameFlags(old.Flags, flags) {
			return
		}
		target, dropped := f.flags.filter(flags, f.w.r.opts.CopyDeleted)
		f.fr.KeywordsDropped += dropped
		key := strings.Join(normFlags(target), " ")
		old.Flags = flags
		changed[key] = append(changed[key], old)
	})
	if err != nil {
		return fmt.Errorf("fetch source flags %q: %w", f.m.Source.Name, err)
	}
	var updated []Message
	for _, msgs := range changed {
		target, _ := f.flags.filter(msgs[0].Flags, f.w.r.opts.CopyDeleted)
		var uids imap.UIDSet
		for _, m := range msgs {
			uids.AddNum(m.TargetUID)
		}
		if err := f.w.tgt.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: target}, nil).Close(); err != nil {
			return fmt.Errorf("store flags in target %q: %w", f.m.Target, err)
		}
		updated = append(updated, msgs...)
	}
	if len(updated) == 0 {
		return nil
	}
	if err := f.w.r.s.State.SetFlags(context.WithoutCancel(ctx), f.m.Source.Name, updated); err != nil {
		return err
	}
	for _, m := range updated {
		f.mapped[m.SourceUID] = m
	}
	f.fr.FlagsUpdated += len(updated)
	return nil
}
