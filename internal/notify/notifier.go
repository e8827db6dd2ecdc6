package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Defaults of Options.
const (
	DefaultInterval    = time.Minute
	DefaultLeaseTTL    = 10 * time.Minute
	DefaultMaxAttempts = 10
	// Retries wait RetryBase, then twice as long each time, up to
	// RetryMax.
	DefaultRetryBase = time.Minute
	DefaultRetryMax  = time.Hour
	// mailsPerRound bounds the mails one round sends, so that a round
	// ends (and Stop is heard) even with a large outbox.
	mailsPerRound = 100
)

// Options configure a Notifier.
type Options struct {
	// Service reads the batches, their users and skipped items.
	Service *migration.Service
	// Outbox is the store's outbox (store.Store is one).
	Outbox Outbox
	// SMTP is the server to send through (validated by New); Sender, when
	// set, is used instead (tests).
	SMTP   Config
	Sender Sender
	// Name owns this process's leases on mails (default host/pid):
	// unique among the processes of the database.
	Name string
	Log  *slog.Logger
	// Now is the clock (time.Now by default).
	Now func() time.Time
	// Interval is how often the batches are looked at and due mails sent
	// (DefaultInterval); Tick, when set, replaces the ticker (tests).
	Interval time.Duration
	Tick     <-chan time.Time
	// LeaseTTL is how long a mail being sent stays this process's
	// (DefaultLeaseTTL, and at least twice SMTP.SendTimeout).
	LeaseTTL time.Duration
	// MaxAttempts is how many times a mail is tried before it is given up
	// (DefaultMaxAttempts); a refusal (5xx) is given up after 3.
	MaxAttempts         int
	RetryBase, RetryMax time.Duration
	// StartedBy names who started a batch (the audit log's actor), or ""
	// when not known; nil: not known.
	StartedBy func(ctx context.Context, batch string) string
	// OnSend is told of every attempt (metrics): its notification and
	// error (nil: sent).
	OnSend func(n *migration.Notification, err error)
	// OnRound is told when a round (enqueue, then send) ends, with its
	// error (tests wait for it).
	OnRound func(err error)
}

// Notifier writes the report e-mails of batches into the outbox when they
// are due (Events) and sends the outbox's due mails. Any number of
// processes may run one on the same database: each mail is written once
// and sent by one of them (see Outbox).
type Notifier struct {
	o      Options
	sender Sender

	mu      sync.Mutex
	running bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// New checks the options (the SMTP config unless a Sender is given) and
// returns a Notifier, not started.
func New(o Options) (*Notifier, error) {
	if o.Service == nil || o.Outbox == nil {
		return nil, errors.New("notify: a Service and an Outbox are required")
	}
	n := &Notifier{o: o, sender: o.Sender}
	if n.sender == nil {
		s, err := NewSMTP(o.SMTP)
		if err != nil {
			return nil, err
		}
		n.sender = s
		n.o.SMTP = s.cfg
	}
	if n.o.Name == "" {
		host, _ := os.Hostname()
		n.o.Name = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if n.o.Log == nil {
		n.o.Log = slog.New(slog.DiscardHandler)
	}
	if n.o.Now == nil {
		n.o.Now = time.Now
	}
	if n.o.Interval <= 0 {
		n.o.Interval = DefaultInterval
	}
	if n.o.LeaseTTL <= 0 {
		n.o.LeaseTTL = DefaultLeaseTTL
	}
	n.o.LeaseTTL = max(n.o.LeaseTTL, 2*n.o.SMTP.SendTimeout)
	if n.o.MaxAttempts <= 0 {
		n.o.MaxAttempts = DefaultMaxAttempts
	}
	if n.o.RetryBase <= 0 {
		n.o.RetryBase = DefaultRetryBase
	}
	if n.o.RetryMax <= 0 {
		n.o.RetryMax = DefaultRetryMax
	}
	return n, nil
}

// Start runs rounds, one at once and then one every Interval, until Stop
// or ctx's end. Starting a running Notifier does nothing.
func (n *Notifier) Start(ctx context.Context) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	n.running, n.cancel, n.done = true, cancel, make(chan struct{})
	tick := n.o.Tick
	var ticker *time.Ticker
	if tick == nil {
		ticker = time.NewTicker(n.o.Interval)
		tick = ticker.C
	}
	go func() {
		defer close(n.done)
		if ticker != nil {
			defer ticker.Stop()
		}
		for {
			err := n.Round(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				n.o.Log.Warn("report e-mails", "err", err)
			}
			if n.o.OnRound != nil {
				n.o.OnRound(err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick:
			}
		}
	}()
}

// Stop ends the rounds: a mail being sent is cancelled (and tried again
// later, by this process or another, once its lease expires). Stop waits
// for the round to end; it is safe to call twice, or without Start.
func (n *Notifier) Stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.running {
		return
	}
	n.cancel()
	<-n.done
	n.running = false
}

// Round writes the mails now due into the outbox, then sends the
// outbox's due mails (at most mailsPerRound).
func (n *Notifier) Round(ctx context.Context) error {
	errEnqueue := n.Enqueue(ctx)
	_, errSend := n.SendDue(ctx)
	return errors.Join(errEnqueue, errSend)
}

// Enqueue writes into the outbox the mails the batches are due now
// (Events), each composed once: a mail the outbox holds already (written
// by this process or another) is not composed again.
func (n *Notifier) Enqueue(ctx context.Context) error {
	batches, err := n.o.Service.Batches(ctx, "")
	if err != nil {
		return fmt.Errorf("batches: %w", err)
	}
	var errs []error
	for i := range batches {
		if err := n.enqueueBatch(ctx, &batches[i]); err != nil {
			errs = append(errs, fmt.Errorf("batch %s: %w", batches[i].Name, err))
		}
	}
	return errors.Join(errs...)
}

func (n *Notifier) enqueueBatch(ctx context.Context, b *migration.Batch) error {
	now := n.o.Now()
	var f *facts
	for _, e := range Events(b, now) {
		has, err := n.o.Outbox.HasNotification(ctx, b.Name, e.Kind, e.Seq)
		if err != nil {
			return err
		}
		if has {
			continue
		}
		if f == nil {
			if f, err = n.facts(ctx, b, now); err != nil {
				return err
			}
		}
		m := compose(e, *f)
		note := &migration.Notification{Batch: b.Name, Kind: e.Kind, Seq: e.Seq, Recipients: b.NotificationEmails, Subject: m.Subject,
			Body: m.Body, Attachments: m.Attachments, CreatedAt: now, Due: now}
		created, err := n.o.Outbox.EnqueueNotification(ctx, note)
		if err != nil {
			return err
		}
		if created {
			n.o.Log.Info("report e-mail queued", "batch", b.Name, "kind", e.Kind, "seq", e.Seq, "recipients", len(b.NotificationEmails))
		}
	}
	return nil
}

// facts reads what the mails tell of b: its users, their skipped items
// (bounded), who started it.
func (n *Notifier) facts(ctx context.Context, b *migration.Batch, now time.Time) (*facts, error) {
	users, err := n.o.Service.Users(ctx, b.Name, "")
	if err != nil {
		return nil, err
	}
	f := &facts{Batch: b, Users: users, Skipped: map[string][]migration.SkippedItem{}, Now: now, Process: n.o.Name}
	rows := 0
	for _, u := range users {
		if u.ItemsSkipped == 0 || rows >= maxSkippedRows {
			continue
		}
		st, err := n.o.Service.UserStatistics(ctx, u.EmailAddress, false, true)
		if err != nil || st.User.Batch != b.Name {
			continue // removed meanwhile, or the address is in a newer batch
		}
		f.Skipped[u.EmailAddress] = st.SkippedItems
		rows += len(st.SkippedItems)
	}
	if n.o.StartedBy != nil {
		f.StartedBy = n.o.StartedBy(ctx, b.Name)
	}
	return f, nil
}

// SendDue sends the outbox's due mails, each under a lease, and records
// each outcome: sent, or failed and due again after a backoff (its error
// kept), or given up after MaxAttempts. It returns how many were sent.
func (n *Notifier) SendDue(ctx context.Context) (sent int, err error) {
	for range mailsPerRound {
		if ctx.Err() != nil {
			return sent, nil
		}
		note, err := n.o.Outbox.LeaseNotification(ctx, n.o.Name, n.o.Now(), n.o.LeaseTTL)
		if err != nil {
			return sent, fmt.Errorf("lease a report e-mail: %w", err)
		}
		if note == nil {
			return sent, nil
		}
		if n.send(ctx, note) {
			sent++
		}
	}
	return sent, nil
}

// send sends one leased mail and records the outcome; it says whether the
// mail was sent.
func (n *Notifier) send(ctx context.Context, note *migration.Notification) bool {
	log := n.o.Log.With("batch", note.Batch, "kind", note.Kind, "seq", note.Seq, "attempt", note.Attempts)
	err := n.sender.Send(ctx, n.mail(note))
	if n.o.OnSend != nil {
		n.o.OnSend(note, err)
	}
	// The outcome is recorded even when ctx ended meanwhile (Stop).
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err == nil {
		if err := n.o.Outbox.NotificationSent(rctx, note.ID, n.o.Name, n.o.Now()); err != nil {
			log.Warn("report e-mail sent, but not recorded as sent", "err", err)
		} else {
			log.Info("report e-mail sent", "recipients", len(note.Recipients))
		}
		return true
	}
	msg := oneLine(err.Error())
	if ctx.Err() != nil {
		msg = "interrupted (the process stopped): " + msg
	}
	giveUp := note.Attempts >= n.o.MaxAttempts || (!temporary(err) && note.Attempts >= 3)
	var retryAt time.Time
	if !giveUp {
		retryAt = n.o.Now().Add(n.backoff(note.Attempts))
	}
	if rerr := n.o.Outbox.NotificationFailed(rctx, note.ID, n.o.Name, msg, retryAt, giveUp); rerr != nil {
		log.Warn("record a failed report e-mail", "err", rerr)
	}
	if giveUp {
		log.Error("report e-mail given up", "err", msg)
	} else {
		log.Warn("report e-mail failed, tried again later", "err", msg, "retry_at", retryAt)
	}
	return false
}

// backoff is the wait after the attempt-th failure.
func (n *Notifier) backoff(attempt int) time.Duration {
	d := n.o.RetryBase
	for i := 1; i < attempt && d < n.o.RetryMax; i++ {
		d *= 2
	}
	return min(d, n.o.RetryMax)
}

// mail is a leased notification as its Sender sends it.
func (n *Notifier) mail(note *migration.Notification) *Mail {
	domain := "imapmigrate.invalid"
	if a, err := mail.ParseAddress(n.o.SMTP.From); err == nil {
		if i := strings.LastIndex(a.Address, "@"); i >= 0 {
			domain = a.Address[i+1:]
		}
	}
	return &Mail{From: n.o.SMTP.From, To: note.Recipients, Subject: note.Subject, Body: note.Body, Attachments: note.Attachments,
		MessageID: fmt.Sprintf("imapmigrate.%s.%s.%d.%d@%s", note.Batch, note.Kind, note.Seq, note.CreatedAt.Unix(), domain),
		Date:      n.o.Now()}
}
