package api

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/report"
)

func TestNewBatch(t *testing.T) {
	onEngines(t, func(t *testing.T, e *env) {
		e.endpoints()

		// Every problem at once: the settings' and the file's rows.
		bad := "EmailAddress,UserName,Password\r\nnot-an-address,terry,x\r\nkim@new.example,,y\r\n"
		b := e.do("POST", "/api/v1/batches", map[string]any{"Name": "b 1", "SourceEndpoint": "nope", "TargetEndpoint": "new",
			"CSVData": bad, "ExcludeFolders": []string{"a/**/b["}, "NotificationEmails": []string{"Boss <boss@x>"}}).
			want(t, http.StatusUnprocessableEntity, "bad batch").Error(t)
		got := fieldsOf(b)
		for _, f := range []string{"Name", "SourceEndpoint", "ExcludeFolders", "NotificationEmails", "CSVData"} {
			if !slices.Contains(got, f) {
				t.Errorf("problems lack %s: %+v", f, b)
			}
		}
		var rows []int
		for _, p := range b.Problems {
			if p.Field == "CSVData" {
				rows = append(rows, p.Row)
				if p.Column == "" || p.Message == "" || p.Fix == "" {
					t.Errorf("a row's problem: %+v", p)
				}
			}
		}
		if !slices.Equal(rows, []int{2, 3}) {
			t.Errorf("rows %v, want 2 and 3: %+v", rows, b)
		}
		e.do("GET", "/api/v1/batches/b1", nil).want(t, http.StatusNotFound, "nothing created")
		b = e.do("POST", "/api/v1/batches", map[string]any{"Name": "b1", "SourceEndpoint": "old", "TargetEndpoint": "new"}).
			want(t, http.StatusUnprocessableEntity, "no file").Error(t)
		if got := fieldsOf(b); !slices.Equal(got, []string{"CSVData"}) {
			t.Errorf("no file: %+v", b)
		}
		b = e.do("POST", "/api/v1/batches", map[string]any{"Name": "b1", "SourceEndpoint": "old", "TargetEndpoint": "new", "CSVData": usersCSV,
			"IncrementalSyncInterval": "soon"}).want(t, http.StatusUnprocessableEntity, "bad interval").Error(t)
		if len(b.Problems) != 1 || b.Problems[0].Field != "IncrementalSyncInterval" || b.Problems[0].Value != "soon" {
			t.Errorf("bad interval: %+v", b)
		}

		// JSON, with every option.
		var nb newBatchResponse
		e.do("POST", "/api/v1/batches", map[string]any{"Name": "b1", "SourceEndpoint": "old", "TargetEndpoint": "new", "CSVData": usersCSV,
			"ExcludeFolders": []string{"#JunkEmail#"}, "IncrementalSyncInterval": "12h", "MaxMessageSize": 1000000, "ReceivedAfter": "2024-01-31",
			"NotificationEmails": []string{"boss@new.example"}, "ReportInterval": "2.00:00:00"}).
			want(t, http.StatusCreated, "b1").JSON(t, &nb)
		if nb.Name != "b1" || nb.Users != 2 || nb.Status != migration.BatchCreated || nb.MaxMessageSize != 1000000 ||
			!nb.ReceivedAfter.Equal(time.Date(2024, 1, 31, 0, 0, 0, 0, time.UTC)) || !slices.Equal(nb.ExcludeFolders, []string{"#JunkEmail#"}) ||
			!slices.Equal(nb.NotificationEmails, []string{"boss@new.example"}) || time.Duration(nb.ReportInterval) != 48*time.Hour {
			t.Errorf("b1: %+v", nb.Batch)
		}
		// The interval is read back under the name it was given, as a TimeSpan.
		if nb.IncrementalInterval != migration.TimeSpan(12*time.Hour) {
			t.Errorf("IncrementalSyncInterval read back: %v", nb.IncrementalInterval)
		}
		var raw map[string]any
		e.do("GET", "/api/v1/batches/b1", nil).want(t, http.StatusOK, "b1").JSON(t, &raw)
		if raw["IncrementalSyncInterval"] != "12:00:00" {
			t.Errorf("GET b1: IncrementalSyncInterval %v, want 12:00:00", raw["IncrementalSyncInterval"])
		}
		// The same addresses again: every row named.
		b = e.do("POST", "/api/v1/batches", map[string]any{"Name": "b2", "SourceEndpoint": "old", "TargetEndpoint": "new", "CSVData": usersCSV}).
			want(t, http.StatusUnprocessableEntity, "addresses taken").Error(t)
		if len(b.Problems) != 2 || b.Problems[0].Row != 2 || !strings.Contains(b.Problems[0].Message, "already in batch b1") {
			t.Errorf("addresses taken: %+v", b)
		}
		// The name taken.
		other := "EmailAddress,UserName,Password\r\nlee@new.example,lee,z\r\n"
		e.do("POST", "/api/v1/batches", map[string]any{"Name": "b1", "SourceEndpoint": "old", "TargetEndpoint": "new", "CSVData": other}).
			want(t, http.StatusConflict, "name taken")

		// An upload, started at once.
		body, ct := form(t, other, "Name", "b3", "SourceEndpoint", "old", "TargetEndpoint", "new", "AutoStart", "true",
			"ExcludeFolders", "Trash", "ExcludeFolders", "Spam/*", "NotificationEmails", "a@new.example, b@new.example", "MaxMessageSize", "2000000")
		e.send("POST", "/api/v1/batches", body, ct, "Bearer "+e.token).want(t, http.StatusCreated, "upload").JSON(t, &nb)
		if nb.Name != "b3" || nb.Users != 1 || nb.Status != migration.BatchSyncing || !slices.Equal(nb.ExcludeFolders, []string{"Trash", "Spam/*"}) ||
			len(nb.NotificationEmails) != 2 || nb.MaxMessageSize != 2000000 {
			t.Errorf("b3: %+v", nb.Batch)
		}
		// An upload's problems name its form fields.
		body, ct = form(t, "EmailAddress,UserName,Password\r\nx@new.example,x\r\n", "Name", "b4", "SourceEndpoint", "old", "TargetEndpoint", "new",
			"CSVEncoding", "klingon")
		b = e.send("POST", "/api/v1/batches", body, ct, "Bearer "+e.token).want(t, http.StatusUnprocessableEntity, "upload, bad").Error(t)
		if got := fieldsOf(b); !slices.Equal(got, []string{"CSVEncoding"}) {
			t.Errorf("upload problems: %+v", b)
		}
		body, ct = form(t, "", "Name", "b4", "SourceEndpoint", "old", "TargetEndpoint", "new", "AutoStart", "maybe")
		b = e.send("POST", "/api/v1/batches", body, ct, "Bearer "+e.token).want(t, http.StatusUnprocessableEntity, "upload, bad bool").Error(t)
		if got := fieldsOf(b); !slices.Equal(got, []string{"AutoStart"}) {
			t.Errorf("upload, bad bool: %+v", b)
		}
		body, ct = form(t, "", "Name", "b4", "SourceEndpoint", "old", "TargetEndpoint", "new")
		b = e.send("POST", "/api/v1/batches", body, ct, "Bearer "+e.token).want(t, http.StatusUnprocessableEntity, "upload, no file").Error(t)
		if got := fieldsOf(b); !slices.Equal(got, []string{"csv"}) {
			t.Errorf("upload without a file: %+v", b)
		}
		body, ct = form(t, other, "Name", "b4", "Colour", "blue")
		e.send("POST", "/api/v1/batches", body, ct, "Bearer "+e.token).want(t, http.StatusBadRequest, "unknown form field")
		// The file as a text field.
		body, ct = form(t, "", "Name", "b5", "SourceEndpoint", "old", "TargetEndpoint", "new", "csv", "EmailAddress,UserName,Password\r\nmo@new.example,mo,z\r\n")
		e.send("POST", "/api/v1/batches", body, ct, "Bearer "+e.token).want(t, http.StatusCreated, "csv as text")

		var list []migration.Batch
		e.do("GET", "/api/v1/batches", nil).want(t, http.StatusOK, "list").JSON(t, &list)
		if len(list) != 3 {
			t.Errorf("batches: %+v", list)
		}
	})
}

func TestBatchCommands(t *testing.T) {
	onEngines(t, func(t *testing.T, e *env) {
		e.endpoints()
		e.batch("b1")

		var got migration.Batch
		e.do("PATCH", "/api/v1/batches/b1", map[string]any{"ExcludeFolders": []string{"Trash"}, "MaxMessageSize": 5000,
			"IncrementalSyncInterval": "01:00:00", "ReceivedAfter": "2024-02-01T08:00:00Z"}).want(t, http.StatusOK, "patch").JSON(t, &got)
		if !slices.Equal(got.ExcludeFolders, []string{"Trash"}) || got.MaxMessageSize != 5000 || got.ReceivedAfter.IsZero() ||
			got.IncrementalInterval != migration.TimeSpan(time.Hour) {
			t.Errorf("patched: %+v", got)
		}
		b := e.do("PATCH", "/api/v1/batches/b1", map[string]any{"IncrementalSyncInterval": "0s", "ReportInterval": "5m"}).
			want(t, http.StatusUnprocessableEntity, "bad patch").Error(t)
		if got := fieldsOf(b); !slices.Equal(got, []string{"ReportInterval", "IncrementalSyncInterval"}) {
			t.Errorf("bad patch: %+v", b)
		}
		e.do("PATCH", "/api/v1/batches/b1", map[string]any{"MaxMessageSize": "big"}).want(t, http.StatusBadRequest, "a string for a number")
		e.do("PATCH", "/api/v1/batches/nope", map[string]any{}).want(t, http.StatusNotFound, "patch unknown")

		for _, c := range []struct {
			method, path string
			status       int
			result       string
			batch        migration.BatchStatus
		}{
			{"POST", "/api/v1/batches/b1/stop", http.StatusConflict, "", ""},
			{"POST", "/api/v1/batches/b1/complete", http.StatusConflict, "", ""},
			{"POST", "/api/v1/batches/b1/start", http.StatusOK, "started", migration.BatchSyncing},
			{"POST", "/api/v1/batches/b1/stop", http.StatusOK, "stopping", migration.BatchStopped},
			{"POST", "/api/v1/batches/b1/stop", http.StatusConflict, "", ""},
			{"POST", "/api/v1/batches/b1/start", http.StatusOK, "started", migration.BatchSyncing},
			{"POST", "/api/v1/batches/b1/complete", http.StatusOK, "completing", migration.BatchCompleting},
			{"POST", "/api/v1/batches/b1/start", http.StatusConflict, "", ""},
			{"POST", "/api/v1/batches/nope/start", http.StatusNotFound, "", ""},
			{"POST", "/api/v1/batches/nope/stop", http.StatusNotFound, "", ""},
			{"POST", "/api/v1/batches/nope/complete", http.StatusNotFound, "", ""},
			{"DELETE", "/api/v1/batches/nope", http.StatusNotFound, "", ""},
		} {
			a := e.do(c.method, c.path, nil).want(t, c.status, c.method+" "+c.path)
			if c.status != http.StatusOK {
				a.Error(t)
				continue
			}
			var r batchResult
			a.JSON(t, &r)
			if r.Name != "b1" || r.Result != c.result || r.Batch == nil || r.Batch.Status != c.batch {
				t.Errorf("%s %s: %+v %+v", c.method, c.path, r, r.Batch)
			}
		}
		// The report settings change at any time, the sync settings only
		// before the start.
		e.do("PATCH", "/api/v1/batches/b1", map[string]any{"NotificationEmails": []string{"boss@new.example"}}).want(t, http.StatusOK, "notify later")
		b = e.do("PATCH", "/api/v1/batches/b1", map[string]any{"ExcludeFolders": []string{}}).want(t, http.StatusConflict, "started").Error(t)
		if !strings.Contains(b.Error, "only before it is started") {
			t.Errorf("settings after the start: %+v", b)
		}

		var r batchResult
		e.do("DELETE", "/api/v1/batches/b1", nil).want(t, http.StatusOK, "remove").JSON(t, &r)
		if r != (batchResult{Name: "b1", Result: "removed"}) {
			t.Errorf("removed: %+v", r)
		}
		e.do("GET", "/api/v1/batches/b1", nil).want(t, http.StatusNotFound, "removed")
	})
}

func TestBatchUsersAndReport(t *testing.T) {
	onEngines(t, func(t *testing.T, e *env) {
		e.endpoints()
		e.batch("b1")

		var page migration.UsersPage
		e.do("GET", "/api/v1/batches/b1/users", nil).want(t, http.StatusOK, "users").JSON(t, &page)
		if page.Total != 2 || len(page.Users) != 2 || page.Limit != migration.MaxPageSize || page.Users[0].EmailAddress != "terry@new.example" {
			t.Errorf("users: %+v", page)
		}
		e.do("GET", "/api/v1/batches/b1/users?status=queued&offset=1&limit=1", nil).want(t, http.StatusOK, "a page").JSON(t, &page)
		if page.Total != 2 || len(page.Users) != 1 || page.Users[0].EmailAddress != "kim@new.example" || page.Offset != 1 || page.Limit != 1 {
			t.Errorf("page 2: %+v", page)
		}
		var raw map[string]any
		e.do("GET", "/api/v1/batches/b1/users?status=Synced", nil).want(t, http.StatusOK, "none").JSON(t, &raw)
		if users, ok := raw["Users"].([]any); !ok || len(users) != 0 || raw["TotalCount"] != 0.0 {
			t.Errorf("no synced users: %v", raw)
		}
		for _, q := range []struct{ query, field string }{{"status=Done", "status"}, {"offset=-1", "offset"}, {"limit=many", "limit"}} {
			b := e.do("GET", "/api/v1/batches/b1/users?"+q.query, nil).want(t, http.StatusUnprocessableEntity, q.query).Error(t)
			if got := fieldsOf(b); !slices.Equal(got, []string{q.field}) {
				t.Errorf("%s: %+v", q.query, b)
			}
		}
		e.do("GET", "/api/v1/batches/nope/users", nil).want(t, http.StatusNotFound, "unknown batch's users")

		a := e.do("GET", "/api/v1/batches/b1/report", nil).want(t, http.StatusOK, "csv report")
		if ct := a.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.Contains(a.Header.Get("Content-Disposition"), "b1-MigrationUsers.csv") {
			t.Errorf("csv headers: %v", a.Header)
		}
		records, err := csv.NewReader(strings.NewReader(string(a.Body))).ReadAll()
		if err != nil || len(records) != 3 || !slices.Equal(records[0], report.Columns) || records[1][0] != "terry@new.example" || records[1][1] != "Queued" {
			t.Errorf("csv report: %v %v", records, err)
		}
		var rows []report.Row
		e.do("GET", "/api/v1/batches/b1/report?format=json", nil).want(t, http.StatusOK, "json report").JSON(t, &rows)
		if len(rows) != 2 || rows[1].EmailAddress != "kim@new.example" {
			t.Errorf("json report: %+v", rows)
		}
		a = e.do("GET", "/api/v1/batches/b1/report?skipped=true", nil).want(t, http.StatusOK, "skipped report")
		if string(a.Body) != strings.Join(report.SkippedColumns, ",")+"\n" {
			t.Errorf("skipped report of a batch not started: %q", a.Body)
		}
		var skipped []report.SkippedRow
		e.do("GET", "/api/v1/batches/b1/report?skipped=1&format=json", nil).want(t, http.StatusOK, "skipped json").JSON(t, &skipped)
		if len(skipped) != 0 {
			t.Errorf("skipped: %+v", skipped)
		}
		b := e.do("GET", "/api/v1/batches/b1/report?format=xlsx", nil).want(t, http.StatusUnprocessableEntity, "xlsx").Error(t)
		if got := fieldsOf(b); !slices.Equal(got, []string{"format"}) {
			t.Errorf("xlsx: %+v", b)
		}
		e.do("GET", "/api/v1/batches/nope/report", nil).want(t, http.StatusNotFound, "unknown batch's report")
		e.do("GET", "/api/v1/batches/nope/report?skipped=true", nil).want(t, http.StatusNotFound, "unknown batch's skipped items")
	})
}
