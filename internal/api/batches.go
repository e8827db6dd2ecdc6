package api

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/csvfile"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/report"
)

// newBatchBody is POST /batches as JSON (New-MigrationBatch): the
// options of `batch new`, the migration file as text in CSVData.
type newBatchBody struct {
	Name           string `json:"Name"`
	SourceEndpoint string `json:"SourceEndpoint"`
	TargetEndpoint string `json:"TargetEndpoint"`
	// CSVData is the migration file's text (Exchange's -CSVData).
	CSVData        *string  `json:"CSVData"`
	ExcludeFolders []string `json:"ExcludeFolders"`
	AutoStart      bool     `json:"AutoStart"`
	// IncrementalSyncInterval, as the batch shows it: "24h" or "1.00:00:00".
	IncrementalSyncInterval *string  `json:"IncrementalSyncInterval"`
	MaxMessageSize          int64    `json:"MaxMessageSize"` // bytes; 0: 35 MB
	ReceivedAfter           *string  `json:"ReceivedAfter"`  // 2024-01-31 or RFC 3339
	NotificationEmails      []string `json:"NotificationEmails"`
	ReportInterval          *string  `json:"ReportInterval"`
}

// batchFields name the service's fields by newBatchBody's properties;
// batchFormFields by the form's fields.
var (
	batchFields     = fields{"Source": "SourceEndpoint", "Target": "TargetEndpoint", "CSV": "CSVData", "CSVOptions": "CSVData", "IncrementalInterval": "IncrementalSyncInterval"}
	batchFormFields = fields{"Source": "SourceEndpoint", "Target": "TargetEndpoint", "CSV": "csv", "CSVOptions": "CSVEncoding", "IncrementalInterval": "IncrementalSyncInterval"}
)

// Body limits of POST /batches: the migration file's limit, escaped as
// JSON text (at most about twice as long) or uploaded, and room for the
// rest. A larger file within them is refused by csvfile, with its limit.
const (
	maxBatchJSONBody = 2*csvfile.DefaultMaxBytes + 1<<20
	maxBatchFormBody = csvfile.DefaultMaxBytes + 1<<20
)

// newBatchResponse is a batch as created, with what reading its file
// noticed, as `batch new --output json` prints it.
type newBatchResponse struct {
	*migration.Batch
	Notices  []string          `json:"Notices,omitempty"`
	Warnings []csvfile.Problem `json:"Warnings,omitempty"`
}

func (h *handler) listBatches(w http.ResponseWriter, r *http.Request) {
	bs, err := h.svc.Batches(r.Context(), "")
	if err != nil {
		h.fail(w, r, err, batchFields)
		return
	}
	if bs == nil {
		bs = []migration.Batch{}
	}
	writeJSON(w, http.StatusOK, bs)
}

func (h *handler) newBatch(w http.ResponseWriter, r *http.Request) {
	names := batchFields
	var p migration.BatchParams
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		names = batchFormFields
		var form *formFile
		form, p, err = batchForm(w, r)
		if form != nil {
			defer form.close()
		}
	} else {
		p, err = batchJSON(w, r)
	}
	if err != nil {
		h.fail(w, r, err, names)
		return
	}
	b, file, err := h.svc.NewBatch(r.Context(), p)
	if err != nil {
		h.fail(w, r, err, names)
		return
	}
	auth.SetAuditObject(r.Context(), b.Name)
	w.Header().Set("Location", Prefix+"batches/"+url.PathEscape(b.Name))
	writeJSON(w, http.StatusCreated, newBatchResponse{Batch: b, Notices: file.Notices, Warnings: file.Warnings})
}

// batchJSON reads POST /batches as JSON.
func batchJSON(w http.ResponseWriter, r *http.Request) (migration.BatchParams, error) {
	var b newBatchBody
	if err := decodeJSON(w, r, &b, maxBatchJSONBody, false); err != nil {
		return migration.BatchParams{}, err
	}
	p := migration.BatchParams{Name: b.Name, Source: b.SourceEndpoint, Target: b.TargetEndpoint, ExcludeFolders: b.ExcludeFolders,
		AutoStart: b.AutoStart, MaxMessageSize: b.MaxMessageSize, NotificationEmails: b.NotificationEmails}
	if b.CSVData != nil {
		p.CSV = strings.NewReader(*b.CSVData)
	}
	var err error
	if p.IncrementalInterval, err = optionalField("IncrementalSyncInterval", b.IncrementalSyncInterval, parseSpan); err != nil {
		return p, err
	}
	if p.ReportInterval, err = optionalField("ReportInterval", b.ReportInterval, parseSpan); err != nil {
		return p, err
	}
	if p.ReceivedAfter, err = optionalField("ReceivedAfter", b.ReceivedAfter, parseDate); err != nil {
		return p, err
	}
	return p, nil
}

// optionalField is parseOptional's value, the zero value when not given.
func optionalField[T any](field string, given *string, parse func(string) (T, error)) (T, error) {
	v, err := parseOptional(field, given, parse)
	return value(v), err
}

// formFile is an uploaded migration file, closed when the request is done.
type formFile struct {
	f    io.Closer
	form interface{ RemoveAll() error }
}

func (f *formFile) close() {
	if f.f != nil {
		f.f.Close()
	}
	f.form.RemoveAll()
}

// batchFormKeys are the fields of POST /batches as multipart/form-data.
var batchFormKeys = []string{"Name", "SourceEndpoint", "TargetEndpoint", "csv", "CSVEncoding", "ExcludeFolders", "AutoStart",
	"IncrementalSyncInterval", "MaxMessageSize", "ReceivedAfter", "NotificationEmails", "ReportInterval"}

// batchForm reads POST /batches as multipart/form-data: the migration
// file in field csv (an upload, or text), the options in fields named as
// newBatchBody's properties (ExcludeFolders repeated, NotificationEmails
// repeated or comma-separated).
func batchForm(w http.ResponseWriter, r *http.Request) (*formFile, migration.BatchParams, error) {
	var p migration.BatchParams
	r.Body = http.MaxBytesReader(w, r.Body, maxBatchFormBody)
	if err := r.ParseMultipartForm(maxBatchFormBody); err != nil {
		if tooLarge(err) {
			return nil, p, tooLargeError(maxBatchFormBody)
		}
		return nil, p, badRequest("malformed multipart/form-data: %v", err)
	}
	form := r.MultipartForm
	ff := &formFile{form: form}
	for k := range form.Value {
		if !slices.Contains(batchFormKeys, k) {
			return ff, p, badRequest("unknown form field %q (see /api/v1/openapi.json)", k)
		}
	}
	for k := range form.File {
		if k != "csv" {
			return ff, p, badRequest("unknown form field %q: the migration file goes in field csv", k)
		}
	}
	get := func(k string) string {
		if v := form.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	p.Name, p.Source, p.Target = get("Name"), get("SourceEndpoint"), get("TargetEndpoint")
	p.CSVOptions = csvfile.Options{Encoding: get("CSVEncoding")}
	for _, x := range form.Value["ExcludeFolders"] {
		if x != "" {
			p.ExcludeFolders = append(p.ExcludeFolders, x)
		}
	}
	for _, v := range form.Value["NotificationEmails"] {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				p.NotificationEmails = append(p.NotificationEmails, e)
			}
		}
	}
	var err error
	parse := func(k string, into func(string) error) {
		if v := get(k); v != "" && err == nil {
			if perr := into(v); perr != nil {
				err = badValue(k, v, perr.Error())
			}
		}
	}
	parse("AutoStart", func(v string) (e error) { p.AutoStart, e = parseBool(v); return })
	parse("IncrementalSyncInterval", func(v string) (e error) { p.IncrementalInterval, e = parseSpan(v); return })
	parse("ReportInterval", func(v string) (e error) { p.ReportInterval, e = parseSpan(v); return })
	parse("MaxMessageSize", func(v string) (e error) { p.MaxMessageSize, e = parseBytes(v); return })
	parse("ReceivedAfter", func(v string) (e error) { p.ReceivedAfter, e = parseDate(v); return })
	if err != nil {
		return ff, p, err
	}
	switch files := form.File["csv"]; {
	case len(files) > 1 || len(files) == 1 && len(form.Value["csv"]) > 0:
		return ff, p, badValue("csv", "", "one migration file per batch")
	case len(files) == 1:
		f, err := files[0].Open()
		if err != nil {
			return ff, p, err
		}
		ff.f, p.CSV = f, f
	case len(form.Value["csv"]) == 1:
		p.CSV = strings.NewReader(form.Value["csv"][0])
	case len(form.Value["csv"]) > 1:
		return ff, p, badValue("csv", "", "one migration file per batch")
	}
	return ff, p, nil
}

func (h *handler) getBatch(w http.ResponseWriter, r *http.Request) {
	b, err := h.svc.Batch(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err, batchFields)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// batchSettingsBody is PATCH /batches/{name} (Set-MigrationBatch): the
// settings given change, the others stay.
type batchSettingsBody struct {
	ExcludeFolders          *[]string `json:"ExcludeFolders"`
	IncrementalSyncInterval *string   `json:"IncrementalSyncInterval"`
	MaxMessageSize          *int64    `json:"MaxMessageSize"`
	ReceivedAfter           *string   `json:"ReceivedAfter"`
	NotificationEmails      *[]string `json:"NotificationEmails"`
	ReportInterval          *string   `json:"ReportInterval"`
}

func (h *handler) patchBatch(w http.ResponseWriter, r *http.Request) {
	var b batchSettingsBody
	if err := decodeJSON(w, r, &b, maxJSONBody, false); err != nil {
		h.fail(w, r, err, batchFields)
		return
	}
	set := migration.BatchSettings{ExcludeFolders: b.ExcludeFolders, MaxMessageSize: b.MaxMessageSize, NotificationEmails: b.NotificationEmails}
	var err error
	if set.IncrementalInterval, err = parseOptional("IncrementalSyncInterval", b.IncrementalSyncInterval, parseSpan); err == nil {
		if set.ReportInterval, err = parseOptional("ReportInterval", b.ReportInterval, parseSpan); err == nil {
			set.ReceivedAfter, err = parseOptional("ReceivedAfter", b.ReceivedAfter, parseDate)
		}
	}
	if err != nil {
		h.fail(w, r, err, batchFields)
		return
	}
	if set.MaxMessageSize != nil && *set.MaxMessageSize < 0 {
		h.fail(w, r, badValue("MaxMessageSize", fmt.Sprint(*set.MaxMessageSize), "must be a size in bytes, 0 or more (0: the default, 35000000)"), batchFields)
		return
	}
	got, err := h.svc.SetBatch(r.Context(), r.PathValue("name"), set)
	if err != nil {
		h.fail(w, r, err, batchFields)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

// batchResult is the answer of start, stop, complete and DELETE, as the
// CLI prints it with --output json.
type batchResult struct {
	Name   string `json:"Name"`
	Result string `json:"Result"` // started, stopping, completing, removed or removing
	// Batch is the batch after the command; none once it is removed.
	Batch *migration.Batch `json:"Batch,omitempty"`
}

// batchCommand answers a batch command: the result, with the batch as it
// is now.
func (h *handler) batchCommand(w http.ResponseWriter, r *http.Request, status int, result string, err error) {
	name := r.PathValue("name")
	if err != nil {
		h.fail(w, r, err, batchFields)
		return
	}
	res := batchResult{Name: name, Result: result}
	if result != "removed" {
		// Gone meanwhile: the result alone.
		res.Batch, _ = h.svc.Batch(r.Context(), name)
	}
	writeJSON(w, status, res)
}

func (h *handler) startBatch(w http.ResponseWriter, r *http.Request) {
	h.batchCommand(w, r, http.StatusOK, "started", h.svc.StartBatch(r.Context(), r.PathValue("name")))
}

func (h *handler) stopBatch(w http.ResponseWriter, r *http.Request) {
	h.batchCommand(w, r, http.StatusOK, "stopping", h.svc.StopBatch(r.Context(), r.PathValue("name")))
}

func (h *handler) completeBatch(w http.ResponseWriter, r *http.Request) {
	h.batchCommand(w, r, http.StatusOK, "completing", h.svc.CompleteBatch(r.Context(), r.PathValue("name")))
}

func (h *handler) removeBatch(w http.ResponseWriter, r *http.Request) {
	gone, err := h.svc.RemoveBatch(r.Context(), r.PathValue("name"))
	if gone {
		h.batchCommand(w, r, http.StatusOK, "removed", err)
		return
	}
	// A worker still holds a user: the scheduler finishes the removal.
	h.batchCommand(w, r, http.StatusAccepted, "removing", err)
}

// userQuery names the service's fields by the query parameters of
// GET /batches/{name}/users.
var userQuery = fields{"Status": "status", "Batch": "name"}

func (h *handler) batchUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var status migration.UserStatus
	var offset, limit int
	var err error
	if v := q.Get("status"); v != "" {
		status, err = migration.ParseUserStatus(v)
	}
	if v := q.Get("offset"); v != "" && err == nil {
		offset, err = parseField("offset", v, parseCount)
	}
	if v := q.Get("limit"); v != "" && err == nil {
		limit, err = parseField("limit", v, parseCount)
	}
	if err != nil {
		h.fail(w, r, err, userQuery)
		return
	}
	page, err := h.svc.BatchUsers(r.Context(), r.PathValue("name"), status, offset, limit)
	if err != nil {
		h.fail(w, r, err, userQuery)
		return
	}
	if page.Users == nil {
		page.Users = []migration.User{}
	}
	writeJSON(w, http.StatusOK, page)
}

// reportQuery names the report's query parameters.
var reportQuery = fields{}

func (h *handler) batchReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := r.PathValue("name")
	format := q.Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		h.fail(w, r, badValue("format", format, "must be csv or json"), reportQuery)
		return
	}
	skipped, err := parseField("skipped", q.Get("skipped"), parseBool)
	if err != nil {
		h.fail(w, r, err, reportQuery)
		return
	}
	if skipped {
		h.skippedReport(w, r, name, format)
		return
	}
	users, err := h.svc.ReportUsers(r.Context(), name)
	if err != nil {
		h.fail(w, r, err, reportQuery)
		return
	}
	reportHeaders(w, name+"-MigrationUsers", format)
	if err := report.Write(w, format, users); err != nil {
		h.log.Warn("api report", "batch", name, "err", err)
	}
}

// reportHeaders start a report's answer: CSV as a file to save, JSON as
// any answer.
func reportHeaders(w http.ResponseWriter, file, format string) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": file + ".csv"}))
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.WriteHeader(http.StatusOK)
}

// skippedReport writes the skipped item details of a batch, one user at a
// time (memory bounded by one user's items); the answer starts with the
// first user, so that an unknown batch is still a 404.
func (h *handler) skippedReport(w http.ResponseWriter, r *http.Request, name, format string) {
	var sw *report.SkippedWriter
	start := func() error {
		if sw != nil {
			return nil
		}
		reportHeaders(w, name+"-SkippedItems", format)
		var err error
		sw, err = report.NewSkippedWriter(w, format)
		return err
	}
	err := h.svc.BatchSkippedItems(r.Context(), name, func(u *migration.User, items []migration.SkippedItem) error {
		if err := start(); err != nil {
			return err
		}
		return sw.Write(u.EmailAddress, items)
	})
	if err != nil && sw == nil {
		h.fail(w, r, err, reportQuery)
		return
	}
	if err == nil {
		err = start()
	}
	if err == nil {
		_, err = sw.Close()
	}
	if err != nil {
		h.log.Warn("api skipped items report", "batch", name, "err", err)
	}
}
