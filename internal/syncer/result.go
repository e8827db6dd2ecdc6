package syncer

import "time"

// Result is the outcome of one mailbox sync.
type Result struct {
	Folders         []FolderResult     `json:"folders"`
	FoldersCreated  int                `json:"folders_created"`
	FoldersSynced   int                `json:"folders_synced"`
	FoldersFailed   int                `json:"folders_failed"`
	Copied          int                `json:"messages_copied"`
	Matched         int                `json:"messages_matched"` // found already on the target by signature
	FlagsUpdated    int                `json:"flags_updated"`
	KeywordsDropped int                `json:"keywords_dropped"`
	Skipped         map[SkipReason]int `json:"skipped"`
	Bytes           int64              `json:"bytes"`
	Reconnects      int                `json:"reconnects"`
	BiggestMessage  int64              `json:"biggest_message"`
	Duration        time.Duration      `json:"-"`
	DryRun          bool               `json:"dry_run"`
}

// FolderResult is the outcome for one folder.
type FolderResult struct {
	Source          string             `json:"source"`
	Target          string             `json:"target"`
	SpecialUse      string             `json:"special_use,omitempty"`
	Created         bool               `json:"created"`
	Excluded        string             `json:"excluded,omitempty"`
	Parent          bool               `json:"parent_only,omitempty"` // \Noselect: created, holds no messages
	SourceMessages  int                `json:"source_messages"`
	Copied          int                `json:"messages_copied"`
	Matched         int                `json:"messages_matched"`
	FlagsUpdated    int                `json:"flags_updated"`
	KeywordsDropped int                `json:"keywords_dropped"`
	Skipped         map[SkipReason]int `json:"skipped,omitempty"`
	SkippedItems    []Skip             `json:"skipped_items,omitempty"` // this pass's, with details
	Bytes           int64              `json:"bytes"`
	ToCopy          int                `json:"to_copy,omitempty"` // dry run: what a real run would copy
	ToCopyBytes     int64              `json:"to_copy_bytes,omitempty"`
	Unchanged       bool               `json:"unchanged,omitempty"` // skipped by STATUS: nothing new
	Error           string             `json:"error,omitempty"`
}

func (r *Result) add(f *FolderResult) {
	r.Folders = append(r.Folders, *f)
	if f.Created {
		r.FoldersCreated++
	}
	if f.Error != "" {
		r.FoldersFailed++
	} else if f.Excluded == "" && !f.Parent {
		r.FoldersSynced++
	}
	r.Copied += f.Copied
	r.Matched += f.Matched
	r.FlagsUpdated += f.FlagsUpdated
	r.KeywordsDropped += f.KeywordsDropped
	r.Bytes += f.Bytes
	for k, v := range f.Skipped {
		if r.Skipped == nil {
			r.Skipped = make(map[SkipReason]int)
		}
		r.Skipped[k] += v
	}
}

// SkippedTotal counts every skipped message.
func (r *Result) SkippedTotal() int {
	n := 0
	for _, v := range r.Skipped {
		n += v
	}
	return n
}
