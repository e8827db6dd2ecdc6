package scheduler

import (
	"sync"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// Meter keeps a pass's progress from the syncer's events, for the
// heartbeats to carry to the store. The estimate of what the pass will do
// starts as the folders' sizes (STATUS) and becomes, folder by folder, what
// the syncer found to copy there.
//
// It also passes the events on to the scheduler's Observer, and keeps how
// the sync ended (Ended) for it.
type Meter struct {
	mu       sync.Mutex
	estimate map[string]int64 // source folder → messages this pass will handle
	items    int64
	bytes    int64
	folder   string

	claim  *migration.Claim // set with obs, before the pass
	obs    Observer
	result *syncer.Result
	err    error
}

// Event takes a syncer event (it may be called from several goroutines).
func (m *Meter) Event(e syncer.Event) {
	if m.obs != nil {
		m.obs.PassEvent(m.claim, e)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.estimate == nil {
		m.estimate = make(map[string]int64)
	}
	switch e.Kind {
	case syncer.Planned:
		for f, n := range e.Plan {
			m.estimate[f] = int64(max(n, 0))
		}
	case syncer.FolderStarted:
		m.estimate[e.Folder] = int64(max(e.Total, 0))
		m.folder = e.Folder
	case syncer.MessagesCopied:
		m.items += int64(max(e.Messages, 0))
		m.bytes += max(e.Bytes, 0)
		m.folder = e.Folder
	}
}

// Progress is the pass's progress at now.
func (m *Meter) Progress(now time.Time) migration.Progress {
	m.mu.Lock()
	defer m.mu.Unlock()
	var total int64
	for _, n := range m.estimate {
		total += n
	}
	return migration.Progress{Items: m.items, Bytes: m.bytes, ItemsTotal: max(total, m.items), Folder: m.folder, At: now}
}

// Ended tells how the sync ended: its result (this pass's counts) and
// error, for the Observer's PassReport. A nil Meter ignores it.
func (m *Meter) Ended(res *syncer.Result, err error) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.result, m.err = res, err
	m.mu.Unlock()
}

func (m *Meter) ended() (*syncer.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.result, m.err
}
