package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// patterns lists the routes New registers ("GET /api/v1/endpoints"…).
func patterns() []string {
	var out []string
	(&handler{}).register(func(p string, _ func(http.ResponseWriter, *http.Request)) { out = append(out, p) })
	return out
}

// concrete is a request path for a route's pattern.
func concrete(path string) string {
	return strings.NewReplacer("{name}", "x1", "{email}", "x1@new.example").Replace(path)
}

func TestRequestErrors(t *testing.T) {
	e := newEnv(t, "")
	e.endpoints()
	big := `{"Name": "` + strings.Repeat("a", maxJSONBody) + `"}`
	for _, c := range []struct {
		name        string
		method      string
		path        string
		body        string
		contentType string
		status      int
		error       string // in the Error
	}{
		{"malformed", "POST", "/api/v1/endpoints", `{"Name": `, "application/json", 400, "ends before the object"},
		{"syntax", "POST", "/api/v1/endpoints", `{"Name" "x"}`, "application/json", 400, "malformed JSON at byte"},
		{"type", "POST", "/api/v1/endpoints", `{"Port": "993"}`, "application/json", 400, "property Port must be a number"},
		{"type of a named string", "POST", "/api/v1/endpoints", `{"Security": 1}`, "application/json", 400, "property Security must be a string"},
		{"unknown property", "POST", "/api/v1/endpoints", `{"Servr": "x"}`, "application/json", 400, `unknown property "Servr"`},
		{"an array", "POST", "/api/v1/endpoints", `[]`, "application/json", 400, "must be an object"},
		{"two objects", "POST", "/api/v1/endpoints", `{} {}`, "application/json", 400, "something follows it"},
		{"empty", "POST", "/api/v1/endpoints", ``, "application/json", 400, "empty body"},
		{"no content type", "POST", "/api/v1/endpoints", `{"Name": "x", "SkipVerification": true}`, "", 422, "RemoteServer: required"},
		{"json with charset", "POST", "/api/v1/endpoints", `{}`, "application/json; charset=utf-8", 422, "problems"},
		{"not json", "POST", "/api/v1/endpoints", `Name=x`, "application/x-www-form-urlencoded", 415, "send application/json"},
		{"batch as text", "POST", "/api/v1/batches", "EmailAddress\r\n", "text/csv", 415, "send application/json"},
		{"too large", "POST", "/api/v1/endpoints", big, "application/json", 413, "over its limit of 1048576 bytes"},
		{"too large patch", "PATCH", "/api/v1/users/x@y", big, "application/json", 413, "over its limit"},
		{"malformed form", "POST", "/api/v1/batches", "--x\r\nnonsense", "multipart/form-data; boundary=x", 400, "malformed multipart/form-data"},
		{"no route", "GET", "/api/v1/nope", "", "", 404, "no such route: /api/v1/nope"},
		{"another version", "GET", "/api/v2/batches", "", "", 404, "the API is under /api/v1/"},
		{"no route below", "GET", "/api/v1/endpoints/a/b", "", "", 404, "no such route"},
		{"no method", "PUT", "/api/v1/endpoints", "", "", 405, "PUT is not a method of /api/v1/endpoints"},
		{"no method below", "POST", "/api/v1/users/x@y", "", "", 405, "POST is not a method"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := e.send(c.method, c.path, c.body, c.contentType, "Bearer "+e.token)
			if a.Status != c.status {
				t.Fatalf("status %d, want %d:\n%.300s", a.Status, c.status, a.Body)
			}
			if ct := a.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if b := a.Error(t); !strings.Contains(b.Error, c.error) {
				t.Errorf("error %q lacks %q", b.Error, c.error)
			}
		})
	}
	if a := e.do("PUT", "/api/v1/endpoints/x", nil); !slices.Equal(a.Header["Allow"], []string{"GET", "PATCH", "DELETE"}) {
		t.Errorf("405's Allow: %v", a.Header["Allow"])
	}

	// Uploads are capped; a file under the cap but over the migration
	// file's limit is a problem of the file.
	huge := "EmailAddress,UserName,Password\r\n" + strings.Repeat("a@new.example,a,x\r\n", maxBatchFormBody/19+1)
	body, ct := form(t, huge, "Name", "b1", "SourceEndpoint", "old", "TargetEndpoint", "new")
	e.send("POST", "/api/v1/batches", body, ct, "Bearer "+e.token).want(t, http.StatusRequestEntityTooLarge, "upload over the cap").Error(t)
	over := huge[:10<<20+100]
	body, ct = form(t, over, "Name", "b1", "SourceEndpoint", "old", "TargetEndpoint", "new")
	b := e.send("POST", "/api/v1/batches", body, ct, "Bearer "+e.token).want(t, http.StatusUnprocessableEntity, "a file over its limit").Error(t)
	if len(b.Problems) != 1 || b.Problems[0].Field != "csv" || !strings.Contains(b.Problems[0].Message, "10 MiB") {
		t.Errorf("a file over its limit: %+v", b)
	}
	e.do("POST", "/api/v1/batches", map[string]any{"Name": "b1", "CSVData": strings.Repeat("x", maxBatchJSONBody)}).
		want(t, http.StatusRequestEntityTooLarge, "JSON over the cap")
}

// Every route needs a valid token: none, a malformed one, a revoked one
// and one of a removed account all get 401 with WWW-Authenticate; the
// OpenAPI document is public.
func TestAuth(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	revoked, _, err := e.srv.Auth.NewToken(ctx, "alice", "old")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Auth.RevokeToken(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Auth.AddAdmin(ctx, "bob", adminAccount); err != nil {
		t.Fatal(err)
	}
	orphan, _, err := e.srv.Auth.NewToken(ctx, "bob", "bobs")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Auth.RemoveAdmin(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(patterns(), "GET /api/v1/nope") {
		method, path, _ := strings.Cut(p, " ")
		for _, authz := range []string{"", "Bearer", "Basic YWxpY2U6eA==", "Bearer imt_nonsense", "Bearer " + revoked, "Bearer " + orphan} {
			a := e.send(method, concrete(path), "{}", "application/json", authz)
			if a.Status != http.StatusUnauthorized || !strings.HasPrefix(a.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s with %.12q: %d %v", p, authz, a.Status, a.Header)
				continue
			}
			var b struct{ Error string }
			a.JSON(t, &b)
			if b.Error == "" {
				t.Errorf("%s: 401 without an error: %s", p, a.Body)
			}
		}
	}
	if a := e.send("GET", "/api/v1/openapi.json", nil, "", ""); a.Status != http.StatusOK {
		t.Errorf("openapi.json without a token: %d", a.Status)
	}
	e.do("GET", "/api/v1/endpoints", nil).want(t, http.StatusOK, "the valid token")
}

// Behind auth's audit middleware (as the server mounts the API), a change
// is logged with its route, object and token; a refused one is not.
func TestAudit(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	e.h = e.srv.Auth.AuditChanges(e.h)
	e.endpoints()
	e.batch("b1")
	e.do("POST", "/api/v1/batches/b1/start", nil).want(t, http.StatusOK, "start")
	e.do("POST", "/api/v1/batches/b1/start", map[string]any{"x": 1}).want(t, http.StatusOK, "start again")
	e.do("PATCH", "/api/v1/users/nobody@new.example", map[string]any{"Password": newSecret}).want(t, http.StatusNotFound, "refused")
	e.do("GET", "/api/v1/batches/b1", nil).want(t, http.StatusOK, "a read")
	log, err := e.srv.Auth.AuditLog(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range log {
		got = append(got, a.Actor+": "+a.Action+" "+a.Object)
	}
	want := []string{"alice (token ci): batch start b1", "alice (token ci): batch start b1", "alice (token ci): batch create b1",
		"alice (token ci): endpoint create new", "alice (token ci): endpoint create old"}
	if !slices.Equal(got, want) {
		t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
