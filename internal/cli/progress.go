package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// progress shows a sync's progress on a terminal: one status line redrawn
// in place, and a line per finished folder. Off a terminal it prints
// nothing (the summary and the log say what happened).
type progress struct {
	w       io.Writer
	enabled bool

	mu          sync.Mutex
	started     time.Time
	msgs, total int
	bytes       int64
	active      map[string]*folderProgress
	done        int
	retries     int
	stopCh      chan struct{}
	wg          sync.WaitGroup
}

type folderProgress struct{ msgs, total int }

func newProgress(w io.Writer, text bool) *progress {
	p := &progress{w: w, active: make(map[string]*folderProgress)}
	if f, ok := w.(*os.File); ok && text && term.IsTerminal(int(f.Fd())) {
		p.enabled = true
	}
	return p
}

func (p *progress) start() {
	p.started = time.Now()
	if !p.enabled {
		return
	}
	p.stopCh = make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw()
			case <-p.stopCh:
				return
			}
		}
	}()
}

func (p *progress) stop() {
	if !p.enabled {
		return
	}
	close(p.stopCh)
	p.wg.Wait()
	fmt.Fprint(p.w, "\r\033[K")
}

func (p *progress) event(e syncer.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case syncer.FolderStarted:
		p.active[e.Folder] = &folderProgress{total: e.Total}
		p.total += e.Total
	case syncer.MessagesCopied:
		p.msgs += e.Messages
		p.bytes += e.Bytes
		if f := p.active[e.Folder]; f != nil {
			f.msgs += e.Messages
		}
	case syncer.Retrying:
		p.retries++
		if p.enabled {
			fmt.Fprintf(p.w, "\r\033[K  %s: %v (resuming)\n", e.Folder, e.Err)
		}
	case syncer.FolderDone:
		p.done++
		delete(p.active, e.Folder)
		if p.enabled && e.Err != nil {
			fmt.Fprintf(p.w, "\r\033[K✗ %s: %v\n", e.Folder, e.Err)
		}
	}
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	secs := time.Since(p.started).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(p.msgs) / secs
	}
	line := fmt.Sprintf("%d/%d messages  %s  %.0f msg/s  %.1f MiB/s  folders done %d",
		p.msgs, p.total, humanBytes(p.bytes), rate, float64(p.bytes)/(1<<20)/max(secs, 0.001), p.done)
	for name, f := range p.active {
		if f.total > 0 {
			line += fmt.Sprintf("  | %s %d%%", name, 100*f.msgs/f.total)
		}
	}
	if width := 160; len(line) > width {
		line = line[:width]
	}
	fmt.Fprint(p.w, "\r\033[K"+line)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
