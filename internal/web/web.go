// Package web is the migration dashboard: server-rendered pages
// (html/template, parsed once at New), assets embedded under /static/, and
// fragment URLs that a small script polls to refresh the live parts of a
// page. Every page works without JavaScript.
//
// A handler parses the request, calls one migration.Service (or auth)
// method and renders: the rules live in package migration. Every page but
// the login page and the assets is behind Auth.RequireSession, which also
// checks the CSRF token of every form (field csrf_token).
package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// Config is what the dashboard is built from.
type Config struct {
	Service *migration.Service
	Auth    *auth.Service
	Log     *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// RefreshInterval is how often the live parts of a page refresh; 0 is
	// 3 seconds.
	RefreshInterval time.Duration
}

type handler struct {
	svc     *migration.Service
	auth    *auth.Service
	log     *slog.Logger
	now     func() time.Time
	csrf    func(ctx context.Context) string
	refresh time.Duration
	views   *views
}

// New builds the dashboard's handler; it fails if a template is missing
// or does not parse.
func New(c Config) (http.Handler, error) {
	if c.Service == nil || c.Auth == nil {
		return nil, errors.New("web: Config.Service and Config.Auth are required")
	}
	v, err := parseViews()
	if err != nil {
		return nil, err
	}
	h := &handler{svc: c.Service, auth: c.Auth, log: c.Log, now: c.Now, refresh: c.RefreshInterval, views: v, csrf: auth.CSRFToken}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.refresh <= 0 {
		h.refresh = 3 * time.Second
	}
	return h.routes(), nil
}

const loginPath = "/login"

func (h *handler) routes() http.Handler {
	open := http.NewServeMux()
	open.Handle("GET /static/", staticHandler())
	open.HandleFunc("GET /login", h.loginPage)
	open.HandleFunc("POST /login", h.login)

	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", h.batchesPage)
	m.HandleFunc("POST /logout", h.logout)

	m.HandleFunc("GET /batches", h.batchesPage)
	m.HandleFunc("GET /batches/rows", h.batchesRows)
	m.HandleFunc("GET /batches/new", h.newBatchPage)
	m.HandleFunc("POST /batches/new", h.newBatch)
	m.HandleFunc("POST /batches/check", h.newBatch) // the same form, nothing created
	m.HandleFunc("GET /batches/{name}", h.batchPage)
	m.HandleFunc("GET /batches/{name}/live", h.batchLive)
	m.HandleFunc("POST /batches/{name}/start", h.batchAction)
	m.HandleFunc("POST /batches/{name}/stop", h.batchAction)
	m.HandleFunc("POST /batches/{name}/complete", h.batchAction)
	m.HandleFunc("GET /batches/{name}/remove", h.removeBatchPage)
	m.HandleFunc("POST /batches/{name}/remove", h.removeBatch)

	m.HandleFunc("GET /users/{email}", h.userPage)
	m.HandleFunc("POST /users/{email}/password", h.setUserPassword)

	m.HandleFunc("GET /endpoints", h.endpointsPage)
	m.HandleFunc("GET /endpoints/new", h.newEndpointPage)
	m.HandleFunc("POST /endpoints/new", h.newEndpoint)
	m.HandleFunc("GET /endpoints/{name}", h.editEndpointPage)
	m.HandleFunc("POST /endpoints/{name}/edit", h.editEndpoint)
	m.HandleFunc("POST /endpoints/{name}/test", h.testEndpoint)
	m.HandleFunc("GET /endpoints/{name}/remove", h.removeEndpointPage)
	m.HandleFunc("POST /endpoints/{name}/remove", h.removeEndpoint)

	m.HandleFunc("GET /audit", h.auditPage)

	// The body limit comes first: RequireSession reads the form for its
	// CSRF token.
	// A form that says it is too large is answered first, as the
	// dashboard does, instead of RequireSession's plain 413.
	open.Handle("/", h.refuseLarge(limitBody(maxUpload, h.auth.RequireSession(loginPath, m))))
	return securityHeaders(open)
}

// maxDrain is how much of a refused form refuseLarge reads before it
// answers: a browser still sending the file when the answer comes may show
// a reset connection instead of the answer.
const maxDrain = 64 << 20

// refuseLarge answers a logged-in session's POST whose Content-Length is
// over maxUpload (a migration file over 10 MiB): the new batch form again
// with the problem (413), or an error page for another form. The body is
// not parsed, so the CSRF token is not checked: nothing is done but this
// answer. Without a session, RequireSession answers as for any request; a
// body without Content-Length (no browser sends one) meets limitBody, and
// RequireSession's 413.
func (h *handler) refuseLarge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.ContentLength <= maxUpload {
			next.ServeHTTP(w, r)
			return
		}
		pr, csrf, err := h.auth.Session(r.Context(), auth.SessionID(r))
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength <= maxDrain {
			io.Copy(io.Discard, r.Body)
		}
		r = r.WithContext(auth.WithPrincipal(r.Context(), pr))
		fix := fmt.Sprintf("the file is larger than %d MiB, the most a migration file may hold (at most %d rows): split it into several batches",
			csvfile.DefaultMaxBytes>>20, csvfile.DefaultMaxRows)
		if r.URL.Path != "/batches/new" && r.URL.Path != "/batches/check" {
			p := h.newPage(r, "Too large", "", fmt.Sprintf("The form is larger than %d MiB: nothing was done.", maxUpload>>20))
			p.CSRF = csrf
			h.render(w, r, http.StatusRequestEntityTooLarge, "error", p)
			return
		}
		eps, err := h.svc.Endpoints(r.Context(), "")
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p := h.newPage(r, "New batch", "new", newBatchFormData(eps))
		p.CSRF = csrf
		if r.Header.Get("X-Fragment") == "" {
			// Sent without the page's script: the form comes back empty.
			fix += "; the form's other fields were not read either: fill them in again"
		}
		p.problems(&migration.ValidationError{Field: "CSV", Fix: fix})
		h.render(w, r, http.StatusRequestEntityTooLarge, "new_batch", p)
	})
}

// limitBody bounds every request's body to n bytes.
func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

// securityHeaders are set on every response: no framing, no sniffing, no
// script or style but the dashboard's own.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// page is what every view gets.
type page struct {
	Title   string
	Nav     string // the menu entry to mark as current
	Admin   string // who is logged in
	CSRF    string
	Refresh int // milliseconds between refreshes of the live parts
	Now     time.Time
	Notice  string
	Error   string
	// NoWorker: no serve or worker process is live, so nothing syncs.
	NoWorker bool
	// Problems are the bad settings of a form, by field.
	Problems map[string][]*migration.ValidationError
	// General are the problems that are not about one field.
	General []string
	// File holds a migration file's problems.
	File *csvfile.ProblemsError
	Data any
}

func (h *handler) newPage(r *http.Request, title, nav string, data any) *page {
	p := &page{Title: title, Nav: nav, CSRF: h.csrf(r.Context()), Refresh: int(h.refresh / time.Millisecond), Now: h.now(), Data: data}
	if pr, ok := auth.From(r.Context()); ok {
		p.Admin = pr.Name
	}
	p.Notice = notices[r.URL.Query().Get("done")]
	return p
}

// notices are the messages a redirect after a change may show (?done=…):
// fixed texts, so that no one can make the dashboard say something else.
var notices = map[string]string{
	"started":   "Start asked: the batch's users are queued and the workers take them in turn.",
	"stopped":   "Stop asked: passes under way stop at a safe point, their state kept.",
	"completed": "Complete asked: each user gets a last incremental sync, then the batch is done.",
	"removed":   "The batch is removed.",
	"gone":      "There is no batch of that name any more: it is removed.",
	"removing":  "The batch is being removed: a worker is still stopping one of its users.",
	"created":   "The batch is created.",
	"saved":     "Saved.",
	"endpoint":  "The endpoint is removed.",
	"password":  "The new password is stored (sealed); a failed user is retried at once.",
}

// fail renders err: a validation problem on the page it came from (422),
// an unknown object (404), else a server error, logged here and only here.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *migration.ValidationError
	var ves migration.ValidationErrors
	switch {
	case errors.Is(err, migration.ErrNotFound):
		h.render(w, r, http.StatusNotFound, "error", h.newPage(r, "Not found", "", err.Error()))
	case errors.As(err, &ves), errors.As(err, &ve):
		h.render(w, r, http.StatusUnprocessableEntity, "error", h.newPage(r, "Cannot do that", "", err.Error()))
	case errors.Is(err, context.Canceled):
	default:
		h.log.Error("dashboard", "method", r.Method, "path", r.URL.Path, "err", err)
		h.render(w, r, http.StatusInternalServerError, "error", h.newPage(r, "Something went wrong", "", "The server could not do this; the error is in its log."))
	}
}

// problems sorts a service error's bad settings into p; it says whether
// err was only that (else the caller fails with it).
func (p *page) problems(err error) bool {
	var ves migration.ValidationErrors
	var ve *migration.ValidationError
	var fe *csvfile.ProblemsError
	isFile := errors.As(err, &fe)
	switch {
	case errors.As(err, &ves):
	case errors.As(err, &ve):
		ves = migration.ValidationErrors{ve}
	case !isFile:
		return false
	}
	p.Problems = map[string][]*migration.ValidationError{}
	for _, v := range ves {
		if v.Field == "" {
			p.General = append(p.General, v.Fix)
			continue
		}
		p.Problems[v.Field] = append(p.Problems[v.Field], v)
	}
	if isFile {
		p.File = fe
	}
	n := len(ves)
	if fe != nil {
		n += fe.Total()
	}
	p.Error = fmt.Sprintf("%d %s: nothing was saved.", n, plural(n, "problem", "problems"))
	return true
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// seeOther redirects after a change (POST, then GET).
func seeOther(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
