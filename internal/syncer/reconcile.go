package syncer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
)

// targetMsg is a target message as reconciliation sees it.
type targetMsg struct {
	uid   imap.UID
	flags []imap.Flag
	sig   Signature // Content filled in only when a match needs it
}

var msgidSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Message-ID"}, Peek: true}

// targetFrom returns the target messages with UID ≥ from that the map does
// not already hold, in UID order.
func (f *folderRun) targetFrom(ctx context.Context, from imap.UID) ([]targetMsg, error) {
	var set imap.UIDSet
	set.AddRange(max(from, 1), 0)
	cmd := f.w.tgt.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{msgidSection}})
	known := make(map[imap.UID]bool, len(f.mapped))
	for _, m := range f.mapped {
		known[m.TargetUID] = true
	}
	var out []targetMsg
	err := eachMessage(f.w.tgt, cmd, func(buf *imapclient.FetchMessageBuffer) {
		if buf.UID < from || known[buf.UID] {
			return
		}
		out = append(out, targetMsg{uid: buf.UID, flags: buf.Flags, sig: Signature{
			MessageID: messageID(bufio.NewReader(bytes.NewReader(buf.FindBodySection(msgidSection)))),
			Date:      buf.InternalDate.Unix(),
			Size:      buf.RFC822Size,
		}})
	})
	if err != nil {
		return nil, fmt.Errorf("fetch target %q: %w", f.m.Target, err)
	}
	slices.SortFunc(out, func(a, b targetMsg) int { return int(a.uid) - int(b.uid) })
	return out, nil
}

// matchKind is what a signature comparison can say.
type matchKind int

const (
	matchNo      matchKind = iota
	matchYes               // the same message
	matchContent           // the same message if their Contents are equal
)

// sigMatch says whether target message t can be the copy of source
// message p. Message-ID and INTERNALDATE must be equal. Then:
//   - with a Message-ID and the exact size, it is the copy (as strong as a
//     signature gets without reading the message);
//   - otherwise (no Message-ID, or a size the target changed by storing the
//     message normalised) only equal Contents make it the copy (see
//     sameContent), and only when t's size is one a normalised copy of p
//     can have. When p's Content is not known yet, any size up to twice
//     (CRLF for every LF) is worth reading.
func sigMatch(p, t Signature) matchKind {
	switch {
	case p.MessageID != t.MessageID || p.Date != t.Date:
		return matchNo
	case p.MessageID != "" && p.Size == t.Size:
		return matchYes
	case p.Content.Known() && !p.Content.fits(p.Size, t.Size):
		return matchNo
	case !p.Content.Known() && (t.Size > 2*p.Size+2 || 2*t.Size+2 < p.Size):
		return matchNo
	}
	return matchContent
}

// sameContent decides a matchContent: equal known Contents. An intent
// written before Contents were kept (unknown) is decided by the old rule:
// the exact size, or with a Message-ID a size at most 2% larger.
func sameContent(p, t Signature) bool {
	if !p.Content.Known() {
		if p.Size == t.Size {
			return true
		}
		return p.MessageID != "" && t.Size > p.Size && (t.Size-p.Size)*50 <= p.Size
	}
	return t.Content.Known() && p.Content.Sum == t.Content.Sum
}

// contents fetches and digests the bodies of the given messages (streamed:
// memory does not grow with message sizes). A body larger than limit is
// refused (c's connection closed).
func contents(c *imapconn.Client, uids []imap.UID, limit int64) (map[imap.UID]Content, error) {
	out := make(map[imap.UID]Content, len(uids))
	if len(uids) == 0 {
		return out, nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	cmd := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var uid imap.UID
		for {
			item := msg.Next()
			if item == nil {
				break
			}
			switch it := item.(type) {
			case imapclient.FetchItemDataUID:
				uid = it.UID
			case imapclient.FetchItemDataBodySection:
				if it.Literal == nil {
					continue
				}
				if n := it.Literal.Size(); n > limit {
					c.Abort()
					io.Copy(io.Discard, it.Literal)
					cmd.Close()
					return nil, &imapconn.Error{Class: imapconn.Transient, Op: "fetch", Err: fmt.Errorf(
						"%w: a %d-byte body for message %d (at most %d): connection closed", imapconn.ErrServerLimit, n, uid, limit)}
				}
				d := newDigester()
				if _, err := io.Copy(d, it.Literal); err != nil {
					cmd.Close()
					return nil, err
				}
				if uid != 0 {
					out[uid] = d.Content()
				}
			}
		}
	}
	return out, cmd.Close()
}

// bodyLimit bounds a body fetched only to digest it.
func (f *folderRun) bodyLimit() int64 { return 2*f.w.r.opts.MaxMessageSize + 1<<20 }

// findOnTarget finds the target copies of messages whose APPEND outcome is
// unknown. The intents are in append order, and a server assigns UIDs in
// the order it stores messages, so copies appear as an ordered subsequence
// of the target messages with UID ≥ the first intent's lower bound (other
// messages may be interleaved: new mail delivered to the target). Each
// target message is matched to the first not-yet-matched intent after the
// previous match that has its signature. found[i] is 0 when intent i is not
// on the target.
func (f *folderRun) findOnTarget(ctx context.Context, ps []Pending) ([]imap.UID, error) {
	found := make([]imap.UID, len(ps))
	if len(ps) == 0 {
		return found, nil
	}
	from := ps[0].TargetUIDNext
	for _, p := range ps {
		from = min(from, p.TargetUIDNext)
	}
	msgs, err := f.targetFrom(ctx, from)
	if err != nil {
		return nil, err
	}
	// The Contents of the target messages some intent can only be told by.
	var need []imap.UID
	for _, t := range msgs {
		for _, p := range ps {
			if sigMatch(p.Sig, t.sig) == matchContent && p.Sig.Content.Known() {
				need = append(need, t.uid)
				break
			}
		}
	}
	cs, err := contents(f.w.tgt, need, f.bodyLimit())
	if err != nil {
		return nil, fmt.Errorf("fetch target %q: %w", f.m.Target, err)
	}
	next := 0
	for _, t := range msgs {
		t.sig.Content = cs[t.uid]
		for j := next; j < len(ps); j++ {
			k := sigMatch(ps[j].Sig, t.sig)
			if k == matchYes || (k == matchContent && sameContent(ps[j].Sig, t.sig)) {
				found[j] = t.uid
				next = j + 1
				break
			}
		}
		if next == len(ps) {
			break
		}
	}
	return found, nil
}

// reconcile settles the intents left by an interrupted pass: the ones found
// on the target enter the map; the others were not appended and will be
// copied again as ordinary candidates.
func (f *folderRun) reconcile(ctx context.Context, ps []Pending) error {
	found, err := f.findOnTarget(ctx, ps)
	if err != nil {
		return err
	}
	var copied []Message
	done := make([]imap.UID, len(ps))
	for i, p := range ps {
		done[i] = p.SourceUID
		if found[i] != 0 {
			copied = append(copied, Message{SourceUID: p.SourceUID, TargetUID: found[i], Flags: p.Flags, Size: p.Sig.Size})
			f.nextTarget = max(f.nextTarget, found[i]+1)
		}
	}
	f.w.r.s.Log.Info("reconciled interrupted appends", "mailbox", f.m.Source.Name, "intents", len(ps), "found", len(copied))
	f.fr.Matched += len(copied)
	return f.commit(ctx, copied, nil, done)
}

// sigKey is what a rebuild indexes target messages by: the parts of a
// signature that a target's normalisation never changes.
type sigKey struct {
	messageID string
	date      int64
}

// matchExisting maps source messages to copies the target folder already
// holds (the state was lost, or a UIDVALIDITY changed), by signature, one to
// one, so that nothing is copied twice; it returns the messages still to
// copy. Where a signature alone cannot tell (no Message-ID, or the target
// stored the message normalised), the Contents of both are compared, which
// costs reading those messages on both sides. Flags of a matched copy are
// brought in line with the source.
func (f *folderRun) matchExisting(ctx context.Context, metas []meta) ([]meta, error) {
	if f.targetIndex == nil {
		msgs, err := f.targetFrom(ctx, 1)
		if err != nil {
			return nil, err
		}
		f.targetIndex = make(map[sigKey][]*targetMsg)
		for i := range msgs {
			t := &msgs[i]
			k := sigKey{t.sig.MessageID, t.sig.Date}
			f.targetIndex[k] = append(f.targetIndex[k], t)
		}
	}
	if len(f.targetIndex) == 0 {
		return metas, nil
	}
	ids, err := f.sourceMessageIDs(ctx, metas)
	if err != nil {
		return nil, err
	}
	sigs := make([]Signature, len(metas))
	for i, m := range metas {
		sigs[i] = Signature{MessageID: ids[m.uid], Date: m.date.Unix(), Size: m.size}
	}
	// First what the signature alone decides; then, for the rest, read the
	// Contents of the source messages and of the target messages they may
	// be copies of, and decide by those.
	matched := make([]*targetMsg, len(metas))
	var needSrc, needTgt []imap.UID
	wantTgt := make(map[imap.UID]bool)
	for i := range metas {
		queue := f.targetIndex[sigKey{sigs[i].MessageID, sigs[i].Date}]
		var undecided []*targetMsg
		for _, t := range queue {
			k := sigMatch(sigs[i], t.sig)
			if k == matchYes {
				matched[i] = t
				break
			}
			if k == matchContent {
				undecided = append(undecided, t)
			}
		}
		if matched[i] != nil {
			f.take(matched[i])
			continue
		}
		if len(undecided) > 0 {
			needSrc = append(needSrc, metas[i].uid)
			for _, t := range undecided {
				if !wantTgt[t.uid] && !t.sig.Content.Known() {
					wantTgt[t.uid] = true
					needTgt = append(needTgt, t.uid)
				}
			}
		}
	}
	if len(needSrc) > 0 {
		srcC, err := contents(f.w.src, needSrc, f.bodyLimit())
		if err != nil {
			return nil, fmt.Errorf("fetch source %q: %w", f.m.Source.Name, err)
		}
		tgtC, err := contents(f.w.tgt, needTgt, f.bodyLimit())
		if err != nil {
			return nil, fmt.Errorf("fetch target %q: %w", f.m.Target, err)
		}
		for _, ts := range f.targetIndex {
			for _, t := range ts {
				if c, ok := tgtC[t.uid]; ok {
					t.sig.Content = c
				}
			}
		}
		for i := range metas {
			c, ok := srcC[metas[i].uid]
			if !ok || matched[i] != nil {
				continue
			}
			sigs[i].Content = c
			for _, t := range f.targetIndex[sigKey{sigs[i].MessageID, sigs[i].Date}] {
				k := sigMatch(sigs[i], t.sig)
				if k == matchYes || (k == matchContent && sameContent(sigs[i], t.sig)) {
					matched[i] = t
					f.take(t)
					break
				}
			}
		}
	}
	var rest []meta
	var copied []Message
	for i, m := range metas {
		t := matched[i]
		if t == nil {
			rest = append(rest, m)
			continue
		}
		want, _ := f.flags.filter(m.flags, f.w.r.opts.CopyDeleted)
		if !sameFlags(want, withoutRecent(t.flags)) {
			if err := f.w.tgt.Store(imap.UIDSetNum(t.uid), &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: want}, nil).Close(); err != nil {
				return nil, fmt.Errorf("store flags in target %q: %w", f.m.Target, err)
			}
			f.fr.FlagsUpdated++
		}
		copied = append(copied, Message{SourceUID: m.uid, TargetUID: t.uid, Flags: m.flags, Size: m.size})
	}
	if len(copied) > 0 {
		f.fr.Matched += len(copied)
		if err := f.commit(ctx, copied, nil, nil); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// take removes a matched target message from the index: one to one.
func (f *folderRun) take(t *targetMsg) {
	k := sigKey{t.sig.MessageID, t.sig.Date}
	f.targetIndex[k] = slices.DeleteFunc(f.targetIndex[k], func(x *targetMsg) bool { return x == t })
}

// sourceMessageIDs reads the Message-ID of each message.
func (f *folderRun) sourceMessageIDs(ctx context.Context, metas []meta) (map[imap.UID]string, error) {
	uids := make([]imap.UID, len(metas))
	for i, m := range metas {
		uids[i] = m.uid
	}
	cmd := f.w.src.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{msgidSection}})
	out := make(map[imap.UID]string, len(metas))
	err := eachMessage(f.w.src, cmd, func(buf *imapclient.FetchMessageBuffer) {
		out[buf.UID] = messageID(bufio.NewReader(bytes.NewReader(buf.FindBodySection(msgidSection))))
	})
	if err != nil {
		return nil, fmt.Errorf("fetch source %q: %w", f.m.Source.Name, err)
	}
	return out, nil
}
