package web

import (
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/credential"
	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// maxUpload bounds a new batch's request: the migration file (10 MB at
// most, as Exchange Online) and the form's fields.
const maxUpload = csvfile.DefaultMaxBytes + 1<<20

// newBatchForm is the new batch form as given, to show it again.
type newBatchForm struct {
	Name, Source, Target string
	Encoding             string
	Exclude              string // one pattern a line
	Interval             string // "24h"
	MaxSize              string // "35MB"
	ReceivedAfter        string // "2025-01-31"
	Notify               string // addresses, comma or space separated
	ReportInterval       string
	AutoStart            bool
}

// newBatchData is the new batch page.
type newBatchData struct {
	Form      newBatchForm
	Endpoints []migration.Endpoint
	// Checked is the file read by a check without problems: its rows,
	// their login forms.
	Checked  *csvfile.File
	FileName string
	Forms    []formCount
	Rows     []csvfile.Row // the first rows, shown with their forms
	More     int           // rows not shown
}

type formCount struct {
	Form     credential.Form
	Describe string
	N        int
}

// encodings are the migration file encodings offered; "auto" reads a
// byte-order mark, else UTF-8 (csv check --csv-encoding).
var encodings = []string{"auto", "utf-8", "utf-16le", "utf-16be", "windows-1252", "gbk", "big5", "shift_jis"}

func (h *handler) newBatchPage(w http.ResponseWriter, r *http.Request) {
	eps, err := h.svc.Endpoints(r.Context(), "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "new_batch", h.newPage(r, "New batch", "new", newBatchFormData(eps)))
}

// newBatchFormData is the new batch form as it first shows.
func newBatchFormData(eps []migration.Endpoint) *newBatchData {
	d := &newBatchData{Form: newBatchForm{Encoding: "auto", Interval: "24h", ReportInterval: "24h"}, Endpoints: eps}
	// The first endpoint that can only be a source, and the first that
	// can be a target, are chosen.
	for _, e := range eps {
		switch {
		case e.MailboxAccess == "" && d.Form.Source == "":
			d.Form.Source = e.Name
		case e.MailboxAccess != "" && d.Form.Target == "":
			d.Form.Target = e.Name
		}
	}
	return d
}

// newBatch checks the form and its file (POST /batches/check, the form's
// "Check the file" button) or creates the batch (POST /batches/new): on any problem nothing is created and each is shown against its
// field, or its row and column of the file.
func (h *handler) newBatch(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.fail(w, r, &migration.ValidationError{Field: "CSV", Fix: fmt.Sprintf("the upload is larger than %d MiB: a migration file holds at most %d rows in %d MiB; split it into several batches",
				maxUpload>>20, csvfile.DefaultMaxRows, csvfile.DefaultMaxBytes>>20)})
			return
		}
		h.fail(w, r, &migration.ValidationError{Fix: "the form could not be read: " + err.Error()})
		return
	}
	defer r.MultipartForm.RemoveAll()
	f := newBatchForm{
		Name: strings.TrimSpace(r.FormValue("name")), Source: r.FormValue("source"), Target: r.FormValue("target"),
		Encoding: r.FormValue("encoding"), Exclude: r.FormValue("exclude"), Interval: strings.TrimSpace(r.FormValue("interval")),
		MaxSize: strings.TrimSpace(r.FormValue("max_size")), ReceivedAfter: strings.TrimSpace(r.FormValue("received_after")),
		Notify: r.FormValue("notify"), ReportInterval: strings.TrimSpace(r.FormValue("report_interval")), AutoStart: r.FormValue("auto_start") != "",
	}
	eps, err := h.svc.Endpoints(r.Context(), "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := &newBatchData{Form: f, Endpoints: eps}
	p := h.newPage(r, "New batch", "new", d)

	params, bad := f.params()
	var file multipart.File
	if fh := r.MultipartForm.File["csv"]; len(fh) > 0 {
		d.FileName = fh[0].Filename
		if file, err = fh[0].Open(); err != nil {
			h.fail(w, r, err)
			return
		}
		defer file.Close()
		params.CSV = file
	}
	if len(bad) > 0 {
		// The form's own mistakes first; the service checks the rest once
		// they are fixed.
		p.problems(bad)
		h.render(w, r, http.StatusUnprocessableEntity, "new_batch", p)
		return
	}
	if r.URL.Path == "/batches/check" {
		checked, err := h.svc.CheckBatch(r.Context(), params)
		if err != nil {
			if !p.problems(err) {
				h.fail(w, r, err)
				return
			}
			h.render(w, r, http.StatusUnprocessableEntity, "new_batch", p)
			return
		}
		d.show(checked)
		p.Notice = fmt.Sprintf("The file is valid: %d %s, and the settings too. Nothing is created yet", len(checked.Rows), plural(len(checked.Rows), "mailbox", "mailboxes"))
		if r.Header.Get("X-Fragment") != "" {
			p.Notice += ": create the batch when ready."
		} else {
			p.Notice += ": choose the file again and create the batch."
		}
		h.render(w, r, http.StatusOK, "new_batch", p)
		return
	}
	b, _, err := h.svc.NewBatch(r.Context(), params)
	if err != nil {
		if !p.problems(err) {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, http.StatusUnprocessableEntity, "new_batch", p)
		return
	}
	auth.SetAuditObject(r.Context(), b.Name)
	seeOther(w, r, "/batches/"+url.PathEscape(b.Name)+"?done=created")
}

// rowsShown is how many rows of a checked file the page lists.
const rowsShown = 200

func (d *newBatchData) show(f *csvfile.File) {
	d.Checked = f
	forms := f.Forms()
	for _, form := range credential.Forms {
		if forms[form] > 0 {
			d.Forms = append(d.Forms, formCount{Form: form, Describe: form.Describe(), N: forms[form]})
		}
	}
	d.Rows = f.Rows[:min(len(f.Rows), rowsShown)]
	d.More = len(f.Rows) - len(d.Rows)
}

// params turns the form into the service's parameters; the values that do
// not parse are returned as problems of their fields.
func (f *newBatchForm) params() (migration.BatchParams, migration.ValidationErrors) {
	var bad migration.ValidationErrors
	p := migration.BatchParams{Name: f.Name, Source: f.Source, Target: f.Target, AutoStart: f.AutoStart}
	if f.Encoding != "" {
		p.CSVOptions.Encoding = f.Encoding
	}
	for _, line := range strings.Split(f.Exclude, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			p.ExcludeFolders = append(p.ExcludeFolders, line)
		}
	}
	if f.Interval != "" {
		d, err := parseDuration(f.Interval)
		if err != nil {
			bad = append(bad, &migration.ValidationError{Field: "IncrementalInterval", Value: f.Interval, Fix: err.Error()})
		}
		p.IncrementalInterval = d
	}
	if f.ReportInterval != "" {
		d, err := parseDuration(f.ReportInterval)
		if err != nil {
			bad = append(bad, &migration.ValidationError{Field: "ReportInterval", Value: f.ReportInterval, Fix: err.Error()})
		}
		p.ReportInterval = d
	}
	if f.MaxSize != "" {
		n, err := migration.ParseSize(f.MaxSize)
		if err != nil {
			bad = append(bad, &migration.ValidationError{Field: "MaxMessageSize", Value: f.MaxSize, Fix: err.Error()})
		}
		p.MaxMessageSize = n
	}
	if f.ReceivedAfter != "" {
		t, err := time.Parse(time.DateOnly, f.ReceivedAfter)
		if err != nil {
			bad = append(bad, &migration.ValidationError{Field: "ReceivedAfter", Value: f.ReceivedAfter, Fix: "write a date as 2025-01-31"})
		}
		p.ReceivedAfter = t
	}
	for _, a := range strings.FieldsFunc(f.Notify, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		p.NotificationEmails = append(p.NotificationEmails, a)
	}
	return p, bad
}

// parseDuration reads "24h", "90m" or "1d" (days, which time.ParseDuration
// does not know).
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && fmt.Sprint(days) == n {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("not a duration: write e.g. 24h, 90m or 1d")
	}
	return d, nil
}
