package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/imapmigrate/imapmigrate/internal/folders"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
)

// Syncer copies one mailbox from Source to Target. It knows nothing of
// batches: its inputs are two connection factories, the mailbox pair's
// State, Options and an event sink.
type Syncer struct {
	Source, Target Conns
	State          State
	Options        Options
	Log            *slog.Logger
	// OnEvent receives progress; it is called from several goroutines and
	// must not block for long. May be nil.
	OnEvent func(Event)
}

// ErrAborted wraps the error that stopped a whole sync (an auth failure, or
// no usable connection), as opposed to per-folder failures in the Result.
var ErrAborted = errors.New("sync aborted")

// Run syncs every folder once and returns what happened. A non-nil error
// means the sync could not run (connect, login, list); per-folder failures
// are in the Result.
func (s *Syncer) Run(ctx context.Context) (res *Result, err error) {
	start := time.Now()
	opts := s.Options.withDefaults()
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	res = &Result{DryRun: opts.DryRun}
	defer func() { res.Duration = time.Since(start) }()
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %w", ErrAborted, s.panicked(v))
		}
	}()

	r := &run{s: s, opts: opts, res: res}
	w0 := &worker{r: r}
	if err := w0.connectControl(ctx); err != nil {
		return res, err
	}
	plan, err := r.plan(ctx, w0)
	if err != nil {
		w0.drop()
		return res, err
	}
	queue, err := r.prepare(ctx, w0, plan)
	if err != nil {
		w0.drop()
		return res, err
	}

	// Largest folders first, so the parallel workers finish together.
	sort.SliceStable(queue, func(i, j int) bool { return queue[i].size > queue[j].size })
	jobs := make(chan *folderJob)
	var wg sync.WaitGroup
	workers := min(opts.ParallelFolders, max(1, len(queue)))
	for i := 0; i < workers; i++ {
		w := w0
		if i > 0 {
			w = &worker{r: r}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer w.drop()
			for job := range jobs {
				w.runFolderContained(ctx, job)
			}
		}()
	}
	for _, job := range queue {
		if r.aborted() != nil {
			job.res.Error = "not synced: " + r.aborted().Error()
			continue
		}
		select {
		case jobs <- job:
		case <-ctx.Done():
			job.res.Error = "not synced: interrupted"
		}
	}
	close(jobs)
	wg.Wait()
	for _, f := range r.results {
		res.add(f)
	}
	if err := r.aborted(); err != nil {
		return res, fmt.Errorf("%w: %w", ErrAborted, err)
	}
	return res, ctx.Err()
}

// run is the shared state of one Run.
type run struct {
	s    *Syncer
	opts Options
	res  *Result

	mu       sync.Mutex
	results  []*FolderResult
	abortErr error
	items    atomic.Int64 // messages accounted for in this mailbox, for MaxItems

	targetDelim rune
	// targetSubscribed: the target's subscribed folders when it was listed.
	targetSubscribed map[string]bool
}

func (r *run) abort(err error) {
	r.mu.Lock()
	if r.abortErr == nil {
		r.abortErr = err
	}
	r.mu.Unlock()
}

func (r *run) aborted() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.abortErr
}

func (r *run) emit(e Event) {
	if r.s.OnEvent != nil {
		r.s.OnEvent(e)
	}
}

func (r *run) addResult(f *FolderResult) {
	r.mu.Lock()
	r.results = append(r.results, f)
	r.mu.Unlock()
}

type folderJob struct {
	m    folders.Mapping
	res  *FolderResult
	size int64 // messages, from STATUS, for ordering
}

// plan lists both sides and maps the folders. A source folder whose entry
// cannot be read is reported (a failed FolderResult) and the rest planned.
func (r *run) plan(ctx context.Context, w *worker) ([]folders.Mapping, error) {
	srcList, err := r.s.Source.Appender(ctx)
	if err != nil {
		return nil, err
	}
	src, bad, err := listFolders(ctx, srcList)
	srcList.Close()
	if err != nil {
		return nil, fmt.Errorf("list source folders: %w", err)
	}
	for _, b := range bad {
		r.addResult(&FolderResult{Source: b.Raw, Error: "not migrated: the server listed it so that it cannot be read: " + b.Err})
	}
	if w.app == nil {
		if w.app, err = r.s.Target.Appender(ctx); err != nil {
			return nil, err
		}
		w.app.MaxBatch = r.opts.ChunkMessages
	}
	tgt, _, err := listFolders(ctx, w.app)
	if err != nil {
		return nil, fmt.Errorf("list target folders: %w", err)
	}
	r.targetSubscribed = subscribedNames(tgt)
	r.targetDelim = '/'
	for _, f := range tgt {
		if f.Delim != 0 {
			r.targetDelim = f.Delim
			break
		}
	}
	if len(tgt) == 0 {
		// No folder listed at all: ask the server for its delimiter.
		if d, err := w.tgt.List("", "", nil).Collect(); err == nil && len(d) == 1 && d[0].Delim != 0 {
			r.targetDelim = d[0].Delim
		}
	}
	plan, err := folders.Plan(src, tgt, r.targetDelim, folders.Options{UserRoot: r.opts.UserRoot, Exclude: r.opts.Exclude,
		SourcePrefix: personalPrefix(w.src), TargetPrefix: personalPrefix(w.tgt)})
	if err != nil {
		return nil, &imapconn.Error{Class: imapconn.Fatal, Op: "map folders", Err: err}
	}
	return plan, nil
}

// personalPrefix is the prefix of the personal namespace ("INBOX." on
// Courier and Cyrus), "" when the server has none or no NAMESPACE.
func personalPrefix(c *imapconn.Client) string {
	if !c.Caps.Has(imap.CapNamespace) {
		return ""
	}
	ns, err := c.Namespace().Wait()
	if err != nil || len(ns.Personal) == 0 {
		return ""
	}
	return ns.Personal[0].Prefix
}

// listFolders lists every folder with its attributes and whether it is
// subscribed (see imapconn.Appender.ListFolders); entries that cannot be
// read are returned apart.
func listFolders(ctx context.Context, a *imapconn.Appender) ([]folders.Folder, []imapconn.BadListed, error) {
	list, bad, err := a.ListFolders(ctx, imapconn.ListLimits{})
	if err != nil {
		return nil, nil, err
	}
	out := make([]folders.Folder, 0, len(list))
	for _, l := range list {
		out = append(out, folders.FolderFromList(l.Name, l.Delim, l.Attrs))
	}
	return out, bad, nil
}

// prepare creates target folders, in plan order (parents first), with
// their special use where the target offers CREATE-SPECIAL-USE, makes the
// target's subscriptions those of the source, and returns the folders to
// sync. It runs at every pass, so a pass repairs what an interrupted one
// left (a folder created but not yet subscribed).
func (r *run) prepare(ctx context.Context, w *worker, plan []folders.Mapping) ([]*folderJob, error) {
	var queue []*folderJob
	var mirrored []folders.Mapping // folders whose subscription follows the source
	created := false
	for _, m := range plan {
		fr := &FolderResult{Source: m.Source.Name, Target: m.Target, SpecialUse: strings.TrimPrefix(string(m.SpecialUse), `\`), Excluded: m.Excluded}
		if m.Excluded != "" && !m.Create {
			r.addResult(fr)
			continue
		}
		if m.Create && !r.opts.DryRun {
			err := r.create(w, m)
			if err != nil && !alreadyExists(err) {
				if imapconn.ClassOf(err) == imapconn.Transient {
					return nil, fmt.Errorf("create target folder %q: %w", m.Target, err)
				}
				fr.Error = fmt.Sprintf("create target folder %q: %v", m.Target, err)
				r.addResult(fr)
				continue
			}
			fr.Created = err == nil
			created = created || fr.Created
		} else if m.Create {
			fr.Created = true // would be
		}
		if m.Excluded != "" {
			// Excluded, but the parent of migrated folders: created empty.
			r.addResult(fr)
			continue
		}
		if !strings.EqualFold(m.Target, "INBOX") {
			mirrored = append(mirrored, m)
		}
		if !m.Sync {
			fr.Parent = true
			r.addResult(fr)
			continue
		}
		r.addResult(fr)
		queue = append(queue, &folderJob{m: m, res: fr})
	}
	if !r.opts.DryRun {
		if err := r.mirrorSubscriptions(ctx, w, mirrored, created); err != nil {
			return nil, err
		}
	}
	// Folder sizes, for the order of work: STATUS commands pipelined.
	status := make([]*imapclient.StatusCommand, len(queue))
	for i, job := range queue {
		status[i] = w.src.Status(job.m.Source.Name, &imap.StatusOptions{NumMessages: true})
	}
	sizes := make(map[string]int, len(queue))
	for i, cmd := range status {
		if st, err := cmd.Wait(); err == nil && st.NumMessages != nil {
			queue[i].size = int64(*st.NumMessages)
		}
		sizes[queue[i].m.Source.Name] = int(queue[i].size)
	}
	r.emit(Event{Kind: Planned, Plan: sizes})
	return queue, nil
}

// create creates a target folder, with its special use where the target
// offers CREATE-SPECIAL-USE (a target that refuses the use, e.g. because
// another folder has it, gets the folder without it).
func (r *run) create(w *worker, m folders.Mapping) error {
	if m.SpecialUse == "" || !w.tgt.Caps.Has(imap.CapCreateSpecialUse) {
		return w.tgt.Create(m.Target, nil).Wait()
	}
	err := w.tgt.Create(m.Target, &imap.CreateOptions{SpecialUse: []imap.MailboxAttr{m.SpecialUse}}).Wait()
	if err == nil || alreadyExists(err) || imapconn.ClassOf(err) == imapconn.Transient {
		return err
	}
	r.s.Log.Warn("create with special use refused; creating without it", "mailbox", m.Target, "use", m.SpecialUse, "err", err)
	return w.tgt.Create(m.Target, nil).Wait()
}

func alreadyExists(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists
}

// mirrorSubscriptions subscribes the target folders whose source is
// subscribed and unsubscribes the others (a parent that no source folder
// lists counts as unsubscribed), sending only what differs from the
// target's subscriptions, read again when folders were created (a server
// may subscribe what it creates). A refusal is logged: subscriptions never
// fail a pass.
func (r *run) mirrorSubscriptions(ctx context.Context, w *worker, ms []folders.Mapping, relist bool) error {
	have := r.targetSubscribed
	if relist {
		tgt, _, err := listFolders(ctx, w.app)
		if err != nil {
			return fmt.Errorf("list target folders: %w", err)
		}
		have = subscribedNames(tgt)
	}
	type change struct {
		m   folders.Mapping
		cmd interface{ Wait() error }
	}
	var changes []change
	for _, m := range ms {
		want := m.Source.Name != "" && m.Source.Subscribed
		if want == have[m.Target] {
			continue
		}
		if want {
			changes = append(changes, change{m, w.tgt.Subscribe(m.Target)})
		} else {
			changes = append(changes, change{m, w.tgt.Unsubscribe(m.Target)})
		}
	}
	for _, c := range changes {
		if err := c.cmd.Wait(); err != nil {
			if imapconn.ClassOf(err) == imapconn.Transient {
				return fmt.Errorf("subscribe target folder %q: %w", c.m.Target, err)
			}
			r.s.Log.Warn("(un)subscribe target folder", "mailbox", c.m.Target, "subscribe", c.m.Source.Subscribed, "err", err)
		}
	}
	return nil
}

func subscribedNames(list []folders.Folder) map[string]bool {
	out := make(map[string]bool, len(list))
	for _, f := range list {
		if f.Subscribed {
			out[f.Name] = true
		}
	}
	return out
}

// worker syncs folders one after another over its own connections.
type worker struct {
	r        *run
	src, tgt *imapconn.Client
	app      *imapconn.Appender
}

func (w *worker) connectControl(ctx context.Context) error {
	var err error
	if w.src == nil {
		if w.src, err = w.r.s.Source.Client(ctx); err != nil {
			return err
		}
	}
	if w.tgt == nil {
		if w.tgt, err = w.r.s.Target.Client(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (w *worker) connect(ctx context.Context) error {
	if err := w.connectControl(ctx); err != nil {
		return err
	}
	if w.app == nil && !w.r.opts.DryRun {
		var err error
		if w.app, err = w.r.s.Target.Appender(ctx); err != nil {
			return err
		}
		w.app.MaxBatch = w.r.opts.ChunkMessages
	}
	return nil
}

func (w *worker) drop() {
	if w.src != nil {
		w.src.Close()
		w.src = nil
	}
	if w.tgt != nil {
		w.tgt.Close()
		w.tgt = nil
	}
	if w.app != nil {
		w.app.Close()
		w.app = nil
	}
}

// runFolder syncs one folder, reconnecting and resuming from the committed
// state after transient errors.
func (w *worker) runFolder(ctx context.Context, job *folderJob) {
	r := w.r
	log := r.s.Log.With("mailbox", job.m.Source.Name)
	for attempt := 1; ; attempt++ {
		if err := r.aborted(); err != nil {
			job.res.Error = "not synced: " + err.Error()
			return
		}
		err := w.connect(ctx)
		if err == nil {
			err = w.syncFolder(ctx, job.m, job.res)
		}
		if err == nil {
			r.emit(Event{Kind: FolderDone, Folder: job.m.Source.Name})
			return
		}
		if ctx.Err() != nil {
			job.res.Error = "interrupted"
			r.emit(Event{Kind: FolderDone, Folder: job.m.Source.Name, Err: ctx.Err()})
			return
		}
		class := imapconn.ClassOf(err)
		if class == imapconn.Transient && attempt < r.opts.Retry.Attempts {
			wait := backoff(r.opts.Retry, attempt, imapconn.SuggestedBackoff(err))
			log.Warn("transient error, resuming", "err", err, "attempt", attempt, "wait", wait)
			r.emit(Event{Kind: Retrying, Folder: job.m.Source.Name, Err: err})
			w.drop()
			r.mu.Lock()
			r.res.Reconnects++
			r.mu.Unlock()
			select {
			case <-time.After(wait):
				continue
			case <-ctx.Done():
				job.res.Error = "interrupted"
				return
			}
		}
		if class == imapconn.Auth {
			r.abort(err)
		}
		log.Error("folder failed", "err", err)
		job.res.Error = err.Error()
		w.drop()
		r.emit(Event{Kind: FolderDone, Folder: job.m.Source.Name, Err: err})
		return
	}
}

// runFolderContained is runFolder with a panic (a bug, or a server input
// nobody foresaw) contained to the folder: it fails with the panic, and the
// worker goes on with fresh connections.
func (w *worker) runFolderContained(ctx context.Context, job *folderJob) {
	defer func() {
		if v := recover(); v != nil {
			job.res.Error = w.r.s.panicked(v).Error()
			w.drop()
			w.r.emit(Event{Kind: FolderDone, Folder: job.m.Source.Name, Err: errors.New(job.res.Error)})
		}
	}()
	w.runFolder(ctx, job)
}

// panicked logs a recovered panic with its stack and returns it as an
// error.
func (s *Syncer) panicked(v any) error {
	s.Log.Error("internal error", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	return &imapconn.Error{Class: imapconn.Fatal, Op: "internal error", Err: fmt.Errorf("panic: %v", v)}
}

// backoff is exponential with full jitter, at least what the server asked.
func backoff(p Retry, attempt int, suggested time.Duration) time.Duration {
	d := p.Base << min(attempt-1, 20)
	if d > p.Max || d <= 0 {
		d = p.Max
	}
	d = d/2 + rand.N(d/2+1)
	return max(d, suggested)
}
