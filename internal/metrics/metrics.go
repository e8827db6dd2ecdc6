// Package metrics exposes what a serve or worker process does in the
// Prometheus format: messages and bytes copied, items skipped by reason,
// errors by class, claims, lease takeovers, passes and their durations,
// report e-mails sent, and the users of every batch by status.
//
// Metrics implements scheduler.Observer: the scheduler tells it of each
// claim, of each pass's syncer events and of each pass's end, so that
// neither the scheduler nor the syncer imports Prometheus. The users by
// status are read from the store at every scrape (CollectUsers).
//
// Label values are bounded: a batch's name (admins create a few batches),
// a pass kind, a user status, a skip reason, an error class. Never a user,
// a folder or an error text. The counters are this process's since it
// started; the users by status are the database's, the same in every
// process that reads it.
package metrics

import (
	"context"
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/scheduler"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

const namespace = "imapmigrate"

// Metrics owns a registry (with the Go runtime's and the process's
// collectors) and the service's metrics. A nil *Metrics ignores every call,
// so that a caller without metrics needs no check.
type Metrics struct {
	reg *prometheus.Registry

	messages      *prometheus.CounterVec   // batch
	bytes         *prometheus.CounterVec   // batch
	skipped       *prometheus.CounterVec   // batch, reason
	errors        *prometheus.CounterVec   // batch, class
	claims        *prometheus.CounterVec   // batch, kind
	takeovers     *prometheus.CounterVec   // batch
	leasesLost    *prometheus.CounterVec   // batch
	passes        *prometheus.CounterVec   // batch, kind, status
	running       *prometheus.GaugeVec     // kind
	passDuration  *prometheus.HistogramVec // kind
	notifications *prometheus.CounterVec   // kind, result
}

var _ scheduler.Observer = (*Metrics)(nil)

// passKinds are the kinds every pass metric shows from the start (at 0).
var passKinds = []migration.PassKind{migration.PassInitial, migration.PassIncremental, migration.PassFinal}

// New returns the metrics, registered in their own registry.
func New() *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		reg:      prometheus.NewRegistry(),
		messages: counter("copied_messages_total", "Messages copied to the target (not those found there already), by batch.", "batch"),
		bytes:    counter("copied_bytes_total", "Bytes of the messages copied to the target, by batch.", "batch"),
		skipped: counter("skipped_items_total", "Messages not migrated, by batch and reason (too_large, rejected, deleted, vanished, "+
			"source_corrupt, max_items, filtered), counted when their pass ends.", "batch", "reason"),
		errors: counter("errors_total", "Errors passes met, by batch and class (auth, transient, item, fatal): every transient error "+
			"retried, every message a server refused (item: skipped as rejected or source_corrupt), every folder that failed, "+
			"and the error that ended a pass (an interruption by stop or shutdown is none).", "batch", "class"),
		claims:     counter("claims_total", "Users leased for a pass by this process's workers, by batch and pass kind.", "batch", "kind"),
		takeovers:  counter("lease_takeovers_total", "Claims of a user whose previous lease had expired under another worker (a worker died or stalled), by batch.", "batch"),
		leasesLost: counter("leases_lost_total", "Passes of this process that lost their lease to another worker (their outcome was not recorded), by batch.", "batch"),
		passes: counter("passes_total", "Passes ended, by batch, pass kind and the user status the pass ended with "+
			"(before a stop or complete of the batch settles it).", "batch", "kind", "status"),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "passes_running",
			Help: "Passes under way in this process, by pass kind."}, []string{"kind"}),
		passDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "pass_duration_seconds",
			Help: "How long passes took, by pass kind (initial, incremental, final).",
			// 1 s to 3 days: an incremental pass of an idle mailbox takes
			// seconds, an initial one of a large mailbox hours.
			Buckets: prometheus.ExponentialBuckets(1, 4, 10)}, []string{"kind"}),
		notifications: counter("notifications_total", "Report e-mails of batches, by kind and result (sent, failed).", "kind", "result"),
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.messages, m.bytes, m.skipped, m.errors, m.claims, m.takeovers, m.leasesLost, m.passes, m.running, m.passDuration, m.notifications)
	for _, k := range passKinds {
		m.running.WithLabelValues(string(k))
		m.passDuration.WithLabelValues(string(k))
	}
	return m
}

// Registry is the metrics' registry (tests, and more collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format (mount it
// at /metrics). A metric that fails to gather is left out and counted in
// promhttp_metric_handler_errors_total, not a failed scrape.
func (m *Metrics) Handler() http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
	return promhttp.InstrumentMetricHandler(m.reg, h)
}

// Claimed counts a claim, and a lease takeover when the claim took over an
// expired lease (scheduler.Observer).
func (m *Metrics) Claimed(c *migration.Claim) {
	if m == nil {
		return
	}
	m.claims.WithLabelValues(c.Batch.Name, string(c.Kind)).Inc()
	if c.TakenOver != "" {
		m.takeovers.WithLabelValues(c.Batch.Name).Inc()
	}
	m.running.WithLabelValues(string(c.Kind)).Inc()
}

// PassEvent counts what a pass copies as it goes, and the errors it
// retries or that fail a folder (scheduler.Observer).
func (m *Metrics) PassEvent(c *migration.Claim, e syncer.Event) {
	if m == nil {
		return
	}
	switch e.Kind {
	case syncer.MessagesCopied:
		if n := e.Messages - e.Skipped; n > 0 {
			m.messages.WithLabelValues(c.Batch.Name).Add(float64(n))
		}
		if e.Bytes > 0 {
			m.bytes.WithLabelValues(c.Batch.Name).Add(float64(e.Bytes))
		}
	case syncer.Retrying, syncer.FolderDone:
		if e.Err != nil && !interruption(e.Err) {
			m.errors.WithLabelValues(c.Batch.Name, imapconn.ClassOf(e.Err).String()).Inc()
		}
	}
}

// PassEnded counts a pass, its duration, its skipped items and the error
// that ended it (scheduler.Observer).
func (m *Metrics) PassEnded(c *migration.Claim, r scheduler.PassReport) {
	if m == nil {
		return
	}
	batch, kind := c.Batch.Name, string(c.Kind)
	m.running.WithLabelValues(kind).Dec()
	m.passDuration.WithLabelValues(kind).Observe(r.Duration.Seconds())
	if r.Result != nil {
		for reason, n := range r.Result.Skipped {
			if n <= 0 {
				continue
			}
			m.skipped.WithLabelValues(batch, string(reason)).Add(float64(n))
			if reason == syncer.SkipRejected || reason == syncer.SkipSourceBad {
				m.errors.WithLabelValues(batch, imapconn.Item.String()).Add(float64(n))
			}
		}
	}
	if r.LeaseLost {
		m.leasesLost.WithLabelValues(batch).Inc()
		return
	}
	m.passes.WithLabelValues(batch, kind, string(r.Outcome.Status)).Inc()
	if class, ok := passError(r); ok {
		m.errors.WithLabelValues(batch, class).Inc()
	}
}

// passError is the class of the error that ended a pass, if one did and
// it was not already counted as its folders' errors.
func passError(r scheduler.PassReport) (string, bool) {
	switch {
	case r.Outcome.Error == "":
		return "", false // a pass that succeeded, or was interrupted
	case r.Err != nil:
		return imapconn.ClassOf(r.Err).String(), true
	case r.Result != nil && r.Result.FoldersFailed > 0:
		return "", false // counted folder by folder (FolderDone)
	}
	return imapconn.Fatal.String(), true // e.g. an internal error (panic)
}

// interruption says whether err is a pass's cancellation (stop, remove,
// shutdown, lost lease) rather than a failure.
func interruption(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, migration.ErrStopped) || errors.Is(err, migration.ErrRemoved)
}

// NotificationSent counts a send of a report e-mail: kind is what it
// reports (migration.NotificationKind: InitialSyncCompleted, Completed,
// Report), result how the send went ("sent", "failed"). Both must come
// from a small fixed set.
func (m *Metrics) NotificationSent(kind, result string) {
	if m == nil {
		return
	}
	m.notifications.WithLabelValues(kind, result).Inc()
}
