package syncer

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// targetMsg is a target message as reconciliation sees it.
type targetMsg struct {
	uid   imap.UID
	flags []imap.Flag
	sig   Signature
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

// sigMatch says whether a target message can be the copy of a pending one.
// Sizes must be equal, except that a server which stores bare LF as CRLF
// reports a slightly larger size: with a Message-ID (strong already), a
// size within 2% is accepted.
func sigMatch(p, t Signature) bool {
	if p.MessageID != t.MessageID || p.Date != t.Date {
		return false
	}
	if p.Size == t.Size {
		return true
	}
	if p.MessageID == "" || t.Size < p.Size {
		return false
	}
	return (t.Size-p.Size)*50 <= p.Size
}

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
	next := 0
	for _, t := range msgs {
		for j := next; j < len(ps); j++ {
			if sigMatch(ps[j].Sig, t.sig) {
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

// matchExisting maps source messages to copies the target folder already
// holds (the state was lost, or a UIDVALIDITY changed), by signature, one to
// one, so that nothing is copied twice; it returns the messages still to
// copy. Flags of a matched copy are brought in line with the source.
func (f *folderRun) matchExisting(ctx context.Context, metas []meta) ([]meta, error) {
	if f.targetIndex == nil {
		msgs, err := f.targetFrom(ctx, 1)
		if err != nil {
			return nil, err
		}
		f.targetIndex = make(map[Signature][]targetMsg)
		for _, t := range msgs {
			f.targetIndex[t.sig] = append(f.targetIndex[t.sig], t)
		}
	}
	if len(f.targetIndex) == 0 {
		return metas, nil
	}
	ids, err := f.sourceMessageIDs(ctx, metas)
	if err != nil {
		return nil, err
	}
	var rest []meta
	var copied []Message
	for _, m := range metas {
		sig := Signature{MessageID: ids[m.uid], Date: m.date.Unix(), Size: m.size}
		queue := f.targetIndex[sig]
		if len(queue) == 0 {
			rest = append(rest, m)
			continue
		}
		t := queue[0]
		f.targetIndex[sig] = queue[1:]
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
