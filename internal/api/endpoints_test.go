package api

import (
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// fieldsOf lists the problems' fields.
func fieldsOf(b errorBody) []string {
	var out []string
	for _, p := range b.Problems {
		out = append(out, p.Field)
	}
	return out
}

func TestEndpoints(t *testing.T) {
	onEngines(t, func(t *testing.T, e *env) {
		e.endpoints()

		var list []migration.Endpoint
		e.do("GET", "/api/v1/endpoints", nil).want(t, http.StatusOK, "list").JSON(t, &list)
		if len(list) != 2 || list[0].Name != "new" || list[1].Name != "old" || list[0].AdminUser != "mailadmin" {
			t.Fatalf("endpoints: %+v", list)
		}
		var one map[string]any
		e.do("GET", "/api/v1/endpoints/new", nil).want(t, http.StatusOK, "get").JSON(t, &one)
		if one["Identity"] != "new" || one["RemoteServer"] != e.tgt.Host || one["MailboxAccess"] != "master" || one["AdminPassword"] != nil {
			t.Errorf("endpoint new as JSON: %v", one)
		}
		if b := e.do("GET", "/api/v1/endpoints/nope", nil).want(t, http.StatusNotFound, "unknown").Error(t); b.Error != "endpoint nope does not exist" {
			t.Errorf("unknown endpoint: %+v", b)
		}

		// Every problem of a request at once, named by its properties.
		b := e.do("POST", "/api/v1/endpoints", map[string]any{"Name": "bad name", "Security": "tls1.3", "MaxConcurrentMigrations": 500,
			"MailboxAccess": "master"}).want(t, http.StatusUnprocessableEntity, "bad settings").Error(t)
		if got, want := fieldsOf(b), []string{"Name", "RemoteServer", "Security", "MaxConcurrentMigrations", "AdminUser", "AdminPassword"}; !slices.Equal(got, want) {
			t.Errorf("problems %v, want %v: %+v", got, want, b)
		}
		if p := b.Problems[3]; p.Value != "500" || p.Message != "MaxConcurrentMigrations 500: must be between 1 and 300" || p.Fix != "must be between 1 and 300" {
			t.Errorf("a problem: %+v", p)
		}
		if !strings.HasPrefix(b.Error, "6 problems") {
			t.Errorf("error: %q", b.Error)
		}
		// A name taken.
		b = e.do("POST", "/api/v1/endpoints", map[string]any{"Name": "old", "RemoteServer": "x", "SkipVerification": true}).
			want(t, http.StatusConflict, "taken").Error(t)
		if !strings.Contains(b.Error, "exists already") {
			t.Errorf("taken: %+v", b)
		}
		// The connection test fails: nothing is saved.
		b = e.do("POST", "/api/v1/endpoints", map[string]any{"Name": "wrong", "RemoteServer": e.tgt.Host, "Port": e.tgt.TLSPort,
			"CAFile": e.tgt.CA.CAFile, "MailboxAccess": "master", "AdminUser": "mailadmin", "AdminPassword": "Wrong-Pw-1",
			"TestMailbox": "terry@new.example"}).want(t, http.StatusUnprocessableEntity, "wrong admin password").Error(t)
		if len(b.Problems) != 1 || !strings.HasPrefix(b.Problems[0].Message, imapconn.StepLogin+": ") || b.Problems[0].Fix == "" {
			t.Errorf("connection test: %+v", b)
		}
		if !strings.Contains(b.Error, "SkipVerification saves it anyway") || strings.Contains(b.Error, "--") {
			t.Errorf("the connection test's error names CLI flags: %q", b.Error)
		}
		// An admin who cannot log in alone: the fix names TestMailbox.
		b = e.do("POST", "/api/v1/endpoints", map[string]any{"Name": "alone", "RemoteServer": e.tgt.Host, "Port": e.tgt.TLSPort,
			"CAFile": e.tgt.CA.CAFile, "MailboxAccess": "master", "AdminUser": "mailadmin", "AdminPassword": adminSecret}).
			want(t, http.StatusUnprocessableEntity, "admin alone").Error(t)
		if len(b.Problems) != 1 || !strings.Contains(b.Problems[0].Fix, "with TestMailbox") || strings.Contains(b.Error, "--") {
			t.Errorf("admin alone: %+v", b)
		}
		e.do("GET", "/api/v1/endpoints/wrong", nil).want(t, http.StatusNotFound, "not saved")
		// A cleartext server is saved with a warning.
		var created endpointResponse
		e.do("POST", "/api/v1/endpoints", map[string]any{"Name": "plain", "RemoteServer": e.src.Host, "Port": e.src.Port, "Security": "none"}).
			want(t, http.StatusCreated, "cleartext").JSON(t, &created)
		if len(created.Warnings) != 1 || created.Port != e.src.Port {
			t.Errorf("cleartext endpoint: %+v", created)
		}

		// PATCH changes what it gives.
		var patched migration.Endpoint
		e.do("PATCH", "/api/v1/endpoints/old", map[string]any{"MaxConcurrentMigrations": 10, "MasterSeparator": "%"}).
			want(t, http.StatusOK, "patch").JSON(t, &patched)
		if patched.MaxConcurrentMigrations != 10 || patched.MaxConcurrentIncrementalSyncs != 10 || patched.MasterSeparator != "%" ||
			patched.Server != e.src.Host || patched.Port != e.src.TLSPort {
			t.Errorf("patched: %+v", patched)
		}
		b = e.do("PATCH", "/api/v1/endpoints/new", map[string]any{"AdminPassword": ""}).want(t, http.StatusUnprocessableEntity, "no password").Error(t)
		if got := fieldsOf(b); !slices.Equal(got, []string{"AdminPassword"}) {
			t.Errorf("password removed: %+v", b)
		}
		e.do("PATCH", "/api/v1/endpoints/nope", map[string]any{"Port": 1}).want(t, http.StatusNotFound, "patch unknown")
		e.do("PATCH", "/api/v1/endpoints/old", map[string]any{"Name": "x"}).want(t, http.StatusBadRequest, "patch the name")

		// The connection test of a saved endpoint, every step.
		var report imapconn.ProbeReport
		e.do("POST", "/api/v1/endpoints/new/test", map[string]any{"TestMailbox": "kim@new.example"}).want(t, http.StatusOK, "test").JSON(t, &report)
		if !report.OK || !report.LoggedIn || report.User != "kim@new.example*mailadmin" || len(report.Steps) < 3 {
			t.Errorf("test with a mailbox: %+v", report)
		}
		e.do("POST", "/api/v1/endpoints/old/test", nil).want(t, http.StatusOK, "test, no body").JSON(t, &report)
		if !report.OK || report.LoggedIn {
			t.Errorf("test of a source: %+v", report)
		}
		b = e.do("POST", "/api/v1/endpoints/old/test", map[string]any{"TestMailbox": "kim@new.example"}).
			want(t, http.StatusUnprocessableEntity, "a source with a mailbox").Error(t)
		if got := fieldsOf(b); !slices.Equal(got, []string{"TestMailbox"}) {
			t.Errorf("test of a source with a mailbox: %+v", b)
		}
		e.do("POST", "/api/v1/endpoints/nope/test", nil).want(t, http.StatusNotFound, "test unknown")
		// A saved endpoint's failed step names its fix's setting by its
		// property, not by `endpoint set NAME --port`.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := l.Addr().(*net.TCPAddr).Port
		l.Close()
		e.do("POST", "/api/v1/endpoints", map[string]any{"Name": "down", "RemoteServer": "127.0.0.1", "Port": closed, "Security": "none",
			"SkipVerification": true}).want(t, http.StatusCreated, "down, not tested")
		e.do("POST", "/api/v1/endpoints/down/test", nil).want(t, http.StatusOK, "test of down").JSON(t, &report)
		if f := report.FirstFailure(); report.OK || f == nil || !strings.Contains(f.Fix, "check Port") || strings.Contains(f.Fix, "--") {
			t.Errorf("the fix of a refused connection names Port: %+v", f)
		}
		e.do("DELETE", "/api/v1/endpoints/down", nil).want(t, http.StatusOK, "down removed")

		// A server tested without saving anything.
		e.do("POST", "/api/v1/endpoints/test", map[string]any{"RemoteServer": e.src.Host, "Port": e.src.TLSPort, "CAFile": e.src.CA.CAFile,
			"User": "terry", "Password": terrySecret}).want(t, http.StatusOK, "server test").JSON(t, &report)
		if !report.OK || !report.LoggedIn || report.FolderCount < 1 {
			t.Errorf("server test: %+v", report)
		}
		e.do("POST", "/api/v1/endpoints/test", map[string]any{"RemoteServer": e.src.Host, "Port": e.src.TLSPort}).
			want(t, http.StatusOK, "untrusted").JSON(t, &report)
		if f := report.FirstFailure(); report.OK || f == nil || !strings.Contains(f.Fix, "CAFile") {
			t.Errorf("an untrusted certificate's fix names CAFile: %+v", f)
		}
		b = e.do("POST", "/api/v1/endpoints/test", map[string]any{"User": "terry"}).want(t, http.StatusUnprocessableEntity, "server test, bad").Error(t)
		if got := fieldsOf(b); !slices.Equal(got, []string{"RemoteServer", "Password"}) {
			t.Errorf("server test problems: %+v", b)
		}
		if list = nil; true {
			e.do("GET", "/api/v1/endpoints", nil).JSON(t, &list)
		}
		if len(list) != 3 {
			t.Errorf("after the tests: %d endpoints, want 3 (a test saves nothing)", len(list))
		}

		// DELETE: refused while a batch uses it.
		e.batch("b1")
		b = e.do("DELETE", "/api/v1/endpoints/old", nil).want(t, http.StatusConflict, "in use").Error(t)
		if !strings.Contains(b.Error, "used by a batch") {
			t.Errorf("in use: %+v", b)
		}
		var gone removed
		e.do("DELETE", "/api/v1/endpoints/plain", nil).want(t, http.StatusOK, "delete").JSON(t, &gone)
		if gone != (removed{Name: "plain", Result: "removed"}) {
			t.Errorf("removed: %+v", gone)
		}
		e.do("DELETE", "/api/v1/endpoints/plain", nil).want(t, http.StatusNotFound, "delete again")
	})
}
