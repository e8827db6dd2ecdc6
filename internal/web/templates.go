package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

//go:embed templates static
var files embed.FS

// viewNames are the pages; each is templates/views/NAME.html, parsed with
// the layout and the partials. New fails if one is missing.
var viewNames = []string{
	"login", "no_admin", "error",
	"batches", "batch", "remove_batch", "new_batch", "user",
	"endpoints", "endpoint", "endpoint_test", "remove_endpoint",
	"audit",
}

// fragmentNames are the partials the live refresh renders alone.
var fragmentNames = []string{"batch_rows", "batch_live"}

type views struct {
	pages     map[string]*template.Template
	fragments *template.Template
}

// parseViews parses every view once; it fails if one is missing, so that a
// handler never finds out at request time.
func parseViews() (*views, error) {
	common, err := template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("web templates: %w", err)
	}
	v := &views{pages: map[string]*template.Template{}, fragments: common}
	for _, name := range fragmentNames {
		if common.Lookup(name) == nil {
			return nil, fmt.Errorf("web templates: no fragment %q in templates/partials", name)
		}
	}
	for _, name := range viewNames {
		path := "templates/views/" + name + ".html"
		if _, err := fs.Stat(files, path); err != nil {
			return nil, fmt.Errorf("web templates: view %s: %w", name, err)
		}
		t, err := template.Must(common.Clone()).ParseFS(files, path)
		if err != nil {
			return nil, fmt.Errorf("web templates: %w", err)
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("web templates: view %s defines no \"content\"", name)
		}
		v.pages[name] = t
	}
	return v, nil
}

// render writes a whole page, or (a request of the live script, which
// sends X-Fragment) nothing but its status: the script then stops.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, view string, p *page) {
	t, ok := h.views.pages[view]
	if !ok {
		panic("web: no view " + view) // parseViews knows every view
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		h.log.Error("render", "view", view, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fragment writes one partial, for the live refresh.
func (h *handler) fragment(w http.ResponseWriter, name string, p *page) {
	var buf bytes.Buffer
	if err := h.views.fragments.ExecuteTemplate(&buf, name, p); err != nil {
		h.log.Error("render", "fragment", name, "err", err)
		http.Error(w, "the fragment could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func staticHandler() http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err)
	}
	fsh := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsh.ServeHTTP(w, r)
	})
}

var funcs = template.FuncMap{
	"when":       when,
	"span":       func(d migration.TimeSpan) string { return d.String() },
	"dur":        func(d time.Duration) string { return migration.TimeSpan(d).String() },
	"bytes":      humanBytes,
	"rate":       func(r float64) string { return fmt.Sprintf("%.1f/s", r) },
	"statusCl":   statusClass,
	"pathEsc":    url.PathEscape,
	"join":       strings.Join,
	"add":        func(a, b int) int { return a + b },
	"statuses":   func() []migration.UserStatus { return migration.UserStatuses },
	"count":      func(m map[migration.UserStatus]int, s migration.UserStatus) int { return m[s] },
	"plural":     plural,
	"actions":    func(csrf, name string) map[string]string { return map[string]string{"CSRF": csrf, "Name": name} },
	"encodings":  func() []string { return encodings },
	"fieldLabel": fieldLabel,
	"mailCl":     mailClass,
}

// when is a time as the dashboard shows it, in UTC; "—" when unset.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// statusClass is the CSS class of a status badge: the colour says good,
// under way, needs a look, or failed; the text always says which.
func statusClass(s any) string {
	switch fmt.Sprint(s) {
	case "Synced", "Completed":
		return "ok"
	case "SyncedWithErrors", "CompletedWithErrors", "Failed", "IncrementalFailed":
		return "bad"
	case "CompletedWithWarnings":
		return "warn"
	case "Syncing", "IncrementalSyncing", "Completing", "Stopping", "Removing":
		return "busy"
	}
	return "idle"
}

// fieldLabels name the service's fields as the forms label them.
var fieldLabels = map[string]string{
	"Name": "Name", "CSV": "Migration file", "CSVOptions": "File encoding", "Source": "Source endpoint", "Target": "Target endpoint",
	"ExcludeFolders": "Folders to exclude", "IncrementalInterval": "Incremental sync every", "MaxMessageSize": "Largest message",
	"ReceivedAfter": "Only mail received after", "NotificationEmails": "Report e-mails", "ReportInterval": "Report every",
	"Server": "Server", "Port": "Port", "Security": "Security", "Auth": "Login method", "MasterSeparator": "Master user separator",
	"MaxConcurrentMigrations": "Most concurrent migrations", "MaxConcurrentIncrementalSyncs": "Most concurrent incremental syncs",
	"MailboxAccess": "Mailbox access", "AdminUser": "Admin user", "AdminPassword": "Admin password", "TokenCommand": "Token command",
	"TestMailbox": "Test mailbox", "CAFile": "CA file",
}

func fieldLabel(field string) string {
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	return field
}

// mailClass is the badge class of a report e-mail's status.
func mailClass(s migration.NotificationStatus) string {
	switch s {
	case migration.NotificationSent:
		return "ok"
	case migration.NotificationFailed:
		return "bad"
	case migration.NotificationRetrying:
		return "warn"
	case migration.NotificationSending:
		return "busy"
	}
	return "idle"
}
