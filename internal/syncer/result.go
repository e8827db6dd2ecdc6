package syncer

import "time"

// Result is the outcome of one mailbox sync.
type Result struct {
	Folders         []FolderResult     `json:"Folders"`
	FoldersCreated  int                `json:"FoldersCreated"`
	FoldersSynced   int                `json:"FoldersSynced"`
	FoldersFailed   int                `json:"FoldersFailed"`
	Copied          int                `json:"MessagesCopied"`
	Matched         int                `json:"MessagesMatched"` // found already on the target by signature
	FlagsUpdated    int                `json:"FlagsUpdated"`
	KeywordsDropped int                `json:"KeywordsDropped"`
	Skipped         map[SkipReason]int `json:"SkippedByReason"`
	Bytes           int64              `json:"Bytes"`
	Reconnects      int                `json:"Reconnects"`
	BiggestMessage  int64              `json:"BiggestMessage"`
	Duration        time.Duration      `json:"-"`
	DryRun          bool               `json:"DryRun"`
}

// FolderResult is the outcome for one folder.
type FolderResult struct {
	Source          string             `json:"SourceFolder"`
	Target          string             `json:"TargetFolder"`
	SpecialUse      string             `json:"SpecialUse,omitempty"`
	Created         bool               `json:"Created"`
	Excluded        string             `json:"Excluded,omitempty"`
	Parent          bool               `json:"ParentOnly,omitempty"` // \Noselect: created, holds no messages
	SourceMessages  int                `json:"SourceMessages"`
	Copied          int                `json:"MessagesCopied"`
	Matched         int                `json:"MessagesMatched"`
	FlagsUpdated    int                `json:"FlagsUpdated"`
	KeywordsDropped int                `json:"KeywordsDropped"`
	Skipped         map[SkipReason]int `json:"SkippedByReason,omitempty"`
	SkippedItems    []Skip             `json:"SkippedItems,omitempty"` // this pass's, with details
	Bytes           int64              `json:"Bytes"`
	ToCopy          int                `json:"ToCopy,omitempty"` // dry run: what a real run would copy
	ToCopyBytes     int64              `json:"ToCopyBytes,omitempty"`
	Unchanged       bool               `json:"Unchanged,omitempty"` // skipped by STATUS: nothing new
	Error           string             `json:"Error,omitempty"`
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
