package syncer

import (
	"context"
	"slices"

	"github.com/emersion/go-imap/v2"

	"github.com/imapmigrate/imapmigrate/internal/folders"
)

// dryRun counts what a real pass would copy, reading the source and the
// state only.
func (w *worker) dryRun(ctx context.Context, m folders.Mapping, fr *FolderResult, st *FolderState, sel *imap.SelectData) error {
	f := &folderRun{w: w, m: m, fr: fr, st: st, exists: sel.NumMessages}
	if st == nil {
		f.st = &FolderState{}
	}
	var err error
	if f.mapped, err = w.r.s.State.Messages(ctx, m.Source.Name); err != nil {
		return err
	}
	if f.skip, err = w.r.s.State.Skipped(ctx, m.Source.Name); err != nil {
		return err
	}
	uids, err := f.candidates(ctx)
	if err != nil {
		return err
	}
	for start := 0; start < len(uids); start += window {
		metas, err := f.fetchMeta(ctx, uids[start:min(start+window, len(uids))])
		if err != nil {
			return err
		}
		for _, mt := range metas {
			switch {
			case !w.r.opts.CopyDeleted && slices.Contains(mt.flags, imap.FlagDeleted):
				f.countSkip(SkipDeleted)
			case mt.size > w.r.opts.MaxMessageSize:
				f.countSkip(SkipTooLarge)
			default:
				fr.ToCopy++
				fr.ToCopyBytes += mt.size
			}
		}
	}
	return nil
}

func (f *folderRun) countSkip(r SkipReason) {
	if f.fr.Skipped == nil {
		f.fr.Skipped = make(map[SkipReason]int)
	}
	f.fr.Skipped[r]++
}
