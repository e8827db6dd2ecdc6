package syncer

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmigrate/imapmigrate/internal/folders"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
)

// meta is what the copy decision needs about a source message.
type meta struct {
	uid   imap.UID
	flags []imap.Flag
	date  time.Time
	size  int64
}

// window is how many candidate messages are planned at once; it bounds the
// memory a large folder needs.
const window = 2000

// folderRun is the state of one folder's pass.
type folderRun struct {
	w      *worker
	m      folders.Mapping
	fr     *FolderResult
	st     *FolderState
	mapped map[imap.UID]Message
	skip   map[imap.UID]Skip
	flags  flagFilter
	// nextTarget is the lower bound of the target's UIDNEXT for the next
	// intent: any message we append from now on gets a UID ≥ it.
	nextTarget imap.UID
	// targetIndex holds the target's unmapped messages by Message-ID and
	// date, in UID order, when the map is being rebuilt.
	targetIndex map[sigKey][]*targetMsg
	// exists is the source folder's EXISTS when it was examined; highest
	// the highest UID the source returned a message for in this pass.
	exists  uint32
	highest imap.UID
}

// syncFolder runs one pass over a folder (DESIGN §5). It can be called again
// after any error: everything it needs is re-read from the state.
func (w *worker) syncFolder(ctx context.Context, m folders.Mapping, fr *FolderResult) error {
	r := w.r
	srcCondstore := w.src.Caps.Has(imap.CapCondStore)
	sel, err := w.src.Select(m.Source.Name, &imap.SelectOptions{ReadOnly: true, CondStore: srcCondstore}).Wait()
	if err != nil {
		return fmt.Errorf("examine source %q: %w", m.Source.Name, err)
	}
	if err := checkSelected("source", m.Source.Name, sel); err != nil {
		return &imapconn.Error{Class: imapconn.Fatal, Op: "examine", Err: err}
	}
	fr.SourceMessages = int(sel.NumMessages)
	st, err := r.s.State.Folder(ctx, m.Source.Name)
	if err != nil {
		return err
	}
	if r.opts.DryRun {
		return w.dryRun(ctx, m, fr, st, sel)
	}
	tsel, err := w.tgt.Select(m.Target, nil).Wait()
	if err != nil {
		return fmt.Errorf("select target %q: %w", m.Target, err)
	}
	if err := checkSelected("target", m.Target, tsel); err != nil {
		return &imapconn.Error{Class: imapconn.Fatal, Op: "select", Err: err}
	}
	f := &folderRun{w: w, m: m, fr: fr, st: st, flags: newFlagFilter(tsel.PermanentFlags), exists: sel.NumMessages}

	if st != nil && (st.SourceUIDValidity != sel.UIDValidity || st.TargetUIDValidity != tsel.UIDValidity) {
		r.s.Log.Warn("UIDVALIDITY changed: rebuilding the map by signature", "mailbox", m.Source.Name,
			"source_old", st.SourceUIDValidity, "source_new", sel.UIDValidity, "target_old", st.TargetUIDValidity, "target_new", tsel.UIDValidity)
		if err := r.s.State.ResetFolder(ctx, m.Source.Name); err != nil {
			return err
		}
		st = nil
	}
	targetNext, err := w.targetUIDNext(m.Target, tsel)
	if err != nil {
		return err
	}
	if st == nil {
		st = &FolderState{Source: m.Source.Name, Target: m.Target, SourceUIDValidity: sel.UIDValidity,
			TargetUIDValidity: tsel.UIDValidity, TargetUIDNext: targetNext}
		if err := r.s.State.SaveFolder(ctx, st); err != nil {
			return err
		}
	}
	// Until a pass has gone through the whole folder (LastSync), what the
	// target holds is matched first: a pass that rebuilds the map and is
	// killed half-way must go on rebuilding, not copy the rest again.
	rebuild := st.LastSync.IsZero() && tsel.NumMessages > 0
	st.Target = m.Target
	f.st = st
	f.nextTarget = max(st.TargetUIDNext, targetNext)

	pending, err := r.s.State.Pending(ctx, m.Source.Name)
	if err != nil {
		return err
	}
	if f.mapped, err = r.s.State.Messages(ctx, m.Source.Name); err != nil {
		return err
	}
	if f.skip, err = r.s.State.Skipped(ctx, m.Source.Name); err != nil {
		return err
	}
	r.items.Add(int64(len(f.mapped)))

	// Unchanged needs both values from the server, then and now: without
	// UIDNEXT (Courier) or CONDSTORE every pass looks.
	unchanged := !rebuild && len(pending) == 0 && sel.UIDNext != 0 && st.SourceUIDNext == sel.UIDNext &&
		srcCondstore && sel.HighestModSeq != 0 && st.HighestModSeq == sel.HighestModSeq
	if unchanged {
		fr.Unchanged = true
		r.emit(Event{Kind: FolderStarted, Folder: m.Source.Name})
		return nil
	}
	if len(pending) > 0 {
		if err := f.reconcile(ctx, pending); err != nil {
			return err
		}
	}
	oldLast := st.LastUID

	uids, err := f.candidates(ctx)
	if err != nil {
		return err
	}
	if sel.UIDNext != 0 && len(uids) > 0 && uids[len(uids)-1] >= sel.UIDNext {
		return &imapconn.Error{Class: imapconn.Fatal, Op: "search", Err: fmt.Errorf(
			"source folder %q: the server's UID SEARCH answer holds UID %d, but its UIDNEXT is %d", m.Source.Name, uids[len(uids)-1], sel.UIDNext)}
	}
	r.emit(Event{Kind: FolderStarted, Folder: m.Source.Name, Total: len(uids)})
	for start := 0; start < len(uids); start += window {
		batch := uids[start:min(start+window, len(uids))]
		metas, err := f.fetchMeta(ctx, batch)
		if err != nil {
			return err
		}
		if rebuild {
			if metas, err = f.matchExisting(ctx, metas); err != nil {
				return err
			}
		}
		if err := f.copy(ctx, metas); err != nil {
			return err
		}
	}
	if oldLast > 0 {
		if err := f.syncFlags(ctx, oldLast, srcCondstore && st.HighestModSeq != 0 && sel.HighestModSeq != 0); err != nil {
			return err
		}
	}
	// Every candidate is settled: the folder is in step up to the highest
	// UID the server showed us a message for, and up to UIDNEXT when it
	// sent one (never UIDNEXT-1 of a UIDNEXT it did not send).
	st.LastUID = max(st.LastUID, f.highest)
	if sel.UIDNext != 0 {
		st.LastUID = max(st.LastUID, sel.UIDNext-1)
	}
	st.SourceUIDNext = sel.UIDNext
	st.HighestModSeq = sel.HighestModSeq
	st.TargetUIDNext = f.nextTarget
	st.LastSync = time.Now()
	return r.s.State.SaveFolder(context.WithoutCancel(ctx), st)
}

// targetUIDNext is a lower bound of the UID the target will give the next
// message: UIDNEXT when the server sent it, else one more than the highest
// UID in the folder (Courier sends no UIDNEXT), else 1.
func (w *worker) targetUIDNext(name string, sel *imap.SelectData) (imap.UID, error) {
	if sel.UIDNext != 0 {
		return sel.UIDNext, nil
	}
	if sel.NumMessages == 0 {
		return 1, nil
	}
	var highest imap.UID
	var last imap.SeqSet
	last.AddNum(sel.NumMessages)
	err := eachMessage(w.tgt, w.tgt.Fetch(last, &imap.FetchOptions{UID: true}), func(buf *imapclient.FetchMessageBuffer) {
		highest = max(highest, buf.UID)
	})
	if err != nil {
		return 0, fmt.Errorf("fetch the last UID of target %q: %w", name, err)
	}
	return highest + 1, nil
}

// candidates returns the source UIDs above LastUID not yet copied or skipped.
func (f *folderRun) candidates(ctx context.Context) ([]imap.UID, error) {
	if f.st.LastUID == ^imap.UID(0) {
		return nil, nil // the highest UID there is: nothing can come after it
	}
	var set imap.UIDSet
	set.AddRange(f.st.LastUID+1, 0)
	data, err := f.w.src.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{set}}, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("search source %q: %w", f.m.Source.Name, err)
	}
	// "n:*" includes the last message even when its UID < n: walkUIDs
	// leaves out what is not above LastUID.
	all, err := walkUIDs(data.All, f.st.LastUID, int(f.exists)+searchSlack)
	if err != nil {
		return nil, &imapconn.Error{Class: imapconn.Fatal, Op: "search", Err: fmt.Errorf("source folder %q: %w", f.m.Source.Name, err)}
	}
	out := all[:0]
	for _, uid := range all {
		if _, ok := f.mapped[uid]; ok {
			continue
		}
		if _, ok := f.skip[uid]; ok {
			continue
		}
		out = append(out, uid)
	}
	slices.Sort(out)
	return out, nil
}

// fetchMeta reads flags, date and size of the given messages. Messages the
// server no longer returns (expunged since the SEARCH) are recorded as
// vanished, so that every candidate is settled.
func (f *folderRun) fetchMeta(ctx context.Context, uids []imap.UID) ([]meta, error) {
	want := make(map[imap.UID]bool, len(uids))
	for _, u := range uids {
		want[u] = true
	}
	cmd := f.w.src.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true})
	var out []meta
	err := eachMessage(f.w.src, cmd, func(buf *imapclient.FetchMessageBuffer) {
		if !want[buf.UID] {
			return // not asked for, or twice
		}
		delete(want, buf.UID)
		f.highest = max(f.highest, buf.UID)
		out = append(out, meta{uid: buf.UID, flags: withoutRecent(buf.Flags), date: buf.InternalDate, size: max(buf.RFC822Size, 0)})
	})
	if err != nil {
		return nil, fmt.Errorf("fetch source %q: %w", f.m.Source.Name, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	if len(want) > 0 && !f.w.r.opts.DryRun {
		var gone []Skip
		for _, u := range uids {
			if want[u] {
				gone = append(gone, Skip{SourceUID: u, Reason: SkipVanished, Detail: "listed by UID SEARCH but not returned by FETCH: expunged on the source meanwhile"})
			}
		}
		if err := f.commit(ctx, nil, gone, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func withoutRecent(flags []imap.Flag) []imap.Flag {
	out := flags[:0:0]
	for _, fl := range flags {
		if fl != flagRecent {
			out = append(out, fl)
		}
	}
	return out
}

// copy copies the given messages: the ones that must be skipped are
// recorded, the others fetched in chunks and appended, a chunk being
// fetched while the previous one is appended.
func (f *folderRun) copy(ctx context.Context, metas []meta) error {
	r := f.w.r
	var skips []Skip
	var todo []meta
	for _, m := range metas {
		switch {
		case !r.opts.CopyDeleted && slices.Contains(m.flags, imap.FlagDeleted):
			skips = append(skips, Skip{SourceUID: m.uid, Reason: SkipDeleted, Size: m.size, Date: m.date, Detail: "flagged \\Deleted on the source (pending expunge)"})
		case !r.opts.ReceivedAfter.IsZero() && m.date.Before(r.opts.ReceivedAfter):
			skips = append(skips, Skip{SourceUID: m.uid, Reason: SkipFiltered, Size: m.size, Date: m.date,
				Detail: "received " + m.date.UTC().Format(time.RFC3339) + ", before --received-after"})
		case m.size > r.opts.MaxMessageSize:
			skips = append(skips, Skip{SourceUID: m.uid, Reason: SkipTooLarge, Size: m.size, Date: m.date,
				Detail: fmt.Sprintf("%d bytes, over the %d-byte limit", m.size, r.opts.MaxMessageSize)})
		case r.items.Add(1) > int64(r.opts.MaxItems):
			skips = append(skips, Skip{SourceUID: m.uid, Reason: SkipMaxItems, Size: m.size, Date: m.date,
				Detail: fmt.Sprintf("over the %d-message limit of this mailbox", r.opts.MaxItems)})
		default:
			todo = append(todo, m)
		}
	}
	if len(skips) > 0 {
		f.fillSubjects(ctx, skips)
		if err := f.commit(ctx, nil, skips, nil); err != nil {
			return err
		}
	}
	if len(todo) == 0 {
		return nil
	}
	plan := planChunks(todo, r.opts.ChunkMessages, r.opts.ChunkBytes)

	fetchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan *chunk, 1)
	fetchErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		defer func() {
			if v := recover(); v != nil {
				fetchErr <- r.s.panicked(v)
			}
		}()
		for _, metas := range plan {
			c, err := f.fetchChunk(fetchCtx, metas)
			if c != nil && err != nil {
				// What was fetched and refused is recorded before the error.
				select {
				case chunks <- c:
				case <-fetchCtx.Done():
					c.release()
				}
			}
			if err != nil {
				fetchErr <- err
				return
			}
			select {
			case chunks <- c:
			case <-fetchCtx.Done():
				c.release()
				fetchErr <- fetchCtx.Err()
				return
			}
		}
		fetchErr <- nil
	}()
	var err error
	for c := range chunks {
		if err == nil {
			err = f.appendChunk(ctx, c)
		}
		c.release()
		if err != nil {
			cancel() // stop the fetcher; drain what it already spooled
		}
	}
	if ferr := <-fetchErr; err == nil && ferr != nil {
		err = ferr
	}
	return err
}

// planChunks groups messages by count and bytes; a message larger than
// maxBytes goes alone.
func planChunks(metas []meta, maxMsgs int, maxBytes int64) [][]meta {
	var out [][]meta
	var cur []meta
	var bytes int64
	for _, m := range metas {
		if len(cur) > 0 && (len(cur) >= maxMsgs || bytes+m.size > maxBytes) {
			out = append(out, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, m)
		bytes += m.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// fetchChunk fetches and spools the bodies of a chunk.
func (f *folderRun) fetchChunk(ctx context.Context, metas []meta) (*chunk, error) {
	r := f.w.r
	byUID := make(map[imap.UID]meta, len(metas))
	uids := make([]imap.UID, len(metas))
	for i, m := range metas {
		byUID[m.uid] = m
		uids[i] = m.uid
	}
	c := &chunk{}
	section := &imap.FetchItemBodySection{Peek: true}
	cmd := f.w.src.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
	got := make(map[imap.UID]bool, len(metas))
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		var uid imap.UID
		var sp *spooled
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
				m, ok := byUID[uid]
				size := it.Literal.Size()
				// Far larger than the server said and than the limit: refused
				// before it is read (closing the connection), and, when it is a
				// message of this chunk, recorded so that it is never asked
				// for again.
				if size > r.opts.MaxMessageSize && size > m.size {
					f.w.src.Abort()
					io.Copy(io.Discard, it.Literal) // fails at once: ends go-imap's wait for it
					cmd.Close()
					if ok && !got[uid] {
						c.refused = append(c.refused, Skip{SourceUID: uid, Reason: SkipTooLarge, Size: size, Date: m.date, Detail: fmt.Sprintf(
							"RFC822.SIZE said %d bytes, but the server sent %d, over the %d-byte limit", m.size, size, r.opts.MaxMessageSize)})
					}
					return c, &imapconn.Error{Class: imapconn.Transient, Op: fmt.Sprintf("fetch source %q uid %d", f.m.Source.Name, uid),
						Err: fmt.Errorf("%w: refused a %d-byte message body announced as %d bytes: connection closed", imapconn.ErrServerLimit, size, m.size)}
				}
				if uid == 0 || !ok || got[uid] {
					io.Copy(io.Discard, it.Literal)
					continue
				}
				var err error
				sp, err = spool(it.Literal, size, m, r.opts.MemSpoolMax, r.opts.SpoolDir)
				if err != nil {
					// The body's read failed part-way (the connection ended
					// with the pass's context, say). go-imap lets its reader
					// go on at the first error of a literal, so draining the
					// command here (Close reads the rest of that literal)
					// would read the connection's buffer alongside it: close
					// the connection and let the reader end first.
					f.w.src.Abort()
					select {
					case <-f.w.src.Closed():
					case <-time.After(2 * time.Second):
					}
					cmd.Close()
					c.release()
					return nil, fmt.Errorf("fetch source %q uid %d: %w", f.m.Source.Name, uid, err)
				}
			}
		}
		if sp != nil {
			got[uid] = true
			c.msgs = append(c.msgs, sp)
		}
	}
	if err := cmd.Close(); err != nil {
		c.release()
		return nil, fmt.Errorf("fetch source %q: %w", f.m.Source.Name, err)
	}
	sort.Slice(c.msgs, func(i, j int) bool { return c.msgs[i].meta.uid < c.msgs[j].meta.uid })
	for _, m := range metas {
		if !got[m.uid] {
			c.missing = append(c.missing, m)
		}
	}
	return c, ctx.Err()
}

// appendChunk is the crash-safe copy of one chunk (see doc.go):
// intent, APPEND, record.
func (f *folderRun) appendChunk(ctx context.Context, c *chunk) error {
	r := f.w.r
	skips := c.refused
	for _, m := range c.missing {
		skips = append(skips, Skip{SourceUID: m.uid, Reason: SkipVanished, Size: m.size, Date: m.date, Detail: "expunged on the source during the copy"})
	}
	if len(c.msgs) == 0 {
		return f.commit(ctx, nil, skips, nil)
	}
	// 1. Intent, durable before anything is sent.
	intents := make([]Pending, len(c.msgs))
	msgs := make([]imapconn.AppendMessage, len(c.msgs))
	for i, sp := range c.msgs {
		intents[i] = Pending{SourceUID: sp.meta.uid, Sig: sp.sig, Flags: sp.meta.flags, TargetUIDNext: f.nextTarget}
		flags, dropped := f.flags.filter(sp.meta.flags, r.opts.CopyDeleted)
		f.fr.KeywordsDropped += dropped
		msgs[i] = imapconn.AppendMessage{Flags: flags, Date: sp.meta.date, Size: sp.size, Body: sp.body}
	}
	if err := r.s.State.AddPending(ctx, f.m.Source.Name, intents); err != nil {
		return err
	}
	// 2. APPEND. From here on the outcome is recorded even if ctx ends.
	res, err := f.w.app.Append(ctx, f.m.Target, msgs)
	ctx = context.WithoutCancel(ctx)
	if err != nil {
		// Unknown outcome: the next attempt reconciles the intents.
		return err
	}
	// 3. Record.
	var copied []Message
	var unknown []Pending
	var bytes int64
	for i, sp := range c.msgs {
		switch {
		case res.Errs[i] != nil:
			skips = append(skips, Skip{SourceUID: sp.meta.uid, Reason: SkipRejected, Size: sp.size, Date: sp.meta.date, Subject: spooledSubject(sp),
				Detail: res.Errs[i].Error()})
		case res.UIDs[i] != 0 && (res.UIDValidity == 0 || res.UIDValidity == f.st.TargetUIDValidity):
			copied = append(copied, Message{SourceUID: sp.meta.uid, TargetUID: res.UIDs[i], Flags: sp.meta.flags, Size: sp.size})
			f.nextTarget = max(f.nextTarget, res.UIDs[i]+1)
			bytes += sp.size
		default:
			unknown = append(unknown, intents[i])
		}
		r.mu.Lock()
		r.res.BiggestMessage = max(r.res.BiggestMessage, sp.size)
		r.mu.Unlock()
	}
	done := c.uids()
	if len(unknown) > 0 {
		// No UIDPLUS: find the copies by signature, like after a crash.
		found, err := f.findOnTarget(ctx, unknown)
		if err != nil {
			return err
		}
		for i, p := range unknown {
			if found[i] == 0 {
				return fmt.Errorf("append to %q: message uid %d was accepted but cannot be found on the target", f.m.Target, p.SourceUID)
			}
			copied = append(copied, Message{SourceUID: p.SourceUID, TargetUID: found[i], Flags: p.Flags, Size: p.Sig.Size})
			bytes += p.Sig.Size
		}
	}
	if err := f.commit(ctx, copied, skips, done); err != nil {
		return err
	}
	f.fr.Copied += len(copied)
	f.fr.Bytes += bytes
	r.emit(Event{Kind: MessagesCopied, Folder: f.m.Source.Name, Messages: len(copied) + len(skips), Skipped: len(skips), Bytes: bytes})
	return nil
}

// commit records settled messages (copied or skipped) and the intents they
// settle. LastUID moves only at the end of a whole pass: until then the map
// and the skipped list say what is done.
func (f *folderRun) commit(ctx context.Context, copied []Message, skips []Skip, done []imap.UID) error {
	for _, m := range copied {
		f.mapped[m.SourceUID] = m
	}
	for _, s := range skips {
		f.skip[s.SourceUID] = s
		if f.fr.Skipped == nil {
			f.fr.Skipped = make(map[SkipReason]int)
		}
		f.fr.Skipped[s.Reason]++
		if len(f.fr.SkippedItems) < 1000 {
			f.fr.SkippedItems = append(f.fr.SkippedItems, s)
		}
	}
	f.st.TargetUIDNext = f.nextTarget
	return f.w.r.s.State.Commit(context.WithoutCancel(ctx), f.st, Commit{Copied: copied, Skipped: skips, Done: done})
}

// eachMessage calls fn with each message of a FETCH of small items
// (flags, dates, sizes, header fields), buffered, then ends the command.
// A literal larger than maxSmallLiteral is refused: c's connection is
// closed rather than the literal read.
func eachMessage(c *imapconn.Client, cmd *imapclient.FetchCommand, fn func(*imapclient.FetchMessageBuffer)) error {
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		buf, err := collect(c, msg)
		if err != nil {
			cmd.Close()
			return err
		}
		fn(buf)
	}
	return cmd.Close()
}

// maxSmallLiteral bounds a literal in a FETCH of small items: header
// fields are read through messageID, which looks at no more than maxHeader.
const maxSmallLiteral = maxHeader

// collect is FetchMessageData.Collect with a bound on literals.
func collect(c *imapconn.Client, msg *imapclient.FetchMessageData) (*imapclient.FetchMessageBuffer, error) {
	buf := &imapclient.FetchMessageBuffer{SeqNum: msg.SeqNum}
	for {
		item := msg.Next()
		if item == nil {
			return buf, nil
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			buf.UID = it.UID
		case imapclient.FetchItemDataFlags:
			buf.Flags = it.Flags
		case imapclient.FetchItemDataInternalDate:
			buf.InternalDate = it.Time
		case imapclient.FetchItemDataRFC822Size:
			buf.RFC822Size = it.Size
		case imapclient.FetchItemDataModSeq:
			buf.ModSeq = it.ModSeq
		case imapclient.FetchItemDataBodySection:
			var b []byte
			if it.Literal != nil {
				if n := it.Literal.Size(); n > maxSmallLiteral {
					c.Abort()
					io.Copy(io.Discard, it.Literal) // fails at once: ends go-imap's wait for it
					return nil, &imapconn.Error{Class: imapconn.Transient, Op: "fetch", Err: fmt.Errorf(
						"%w: a %d-byte literal for a header field of message %d (at most %d): connection closed", imapconn.ErrServerLimit, n, buf.UID, maxSmallLiteral)}
				}
				var err error
				if b, err = io.ReadAll(it.Literal); err != nil {
					return nil, err
				}
			}
			buf.BodySection = append(buf.BodySection, imapclient.FetchBodySectionBuffer{Section: it.Section, Bytes: b})
		default:
			// Not asked for; go-imap has already read it.
		}
	}
}
