package auth_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/auth"
)

// whoami answers with the request's principal and CSRF token.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.From(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "%s|%s|%s", p, p.Via, auth.CSRFToken(r.Context()))
})

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRequireToken(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	secret, _, err := s.NewToken(ctx, "alice", "ci")
	if err != nil {
		t.Fatal(err)
	}
	h := s.RequireToken(whoami)
	req := func(authz string) *http.Request {
		r := httptest.NewRequest("GET", "/api/v1/batches", nil)
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		return r
	}
	for _, tc := range []struct{ name, authz string }{
		{"no token", ""},
		{"bad token", "Bearer imt_" + strings.Repeat("x", 43)},
		{"not a token", "Bearer hunter2"},
		{"basic", "Basic YWxpY2U6aHVudGVyMg=="},
		{"empty bearer", "Bearer "},
	} {
		w := serve(h, req(tc.authz))
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, w.Code)
			continue
		}
		if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", tc.name, w.Header().Get("WWW-Authenticate"))
		}
		var body struct{ Error string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" ||
			w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%s: body %q (%v), want {\"Error\": …}", tc.name, w.Body, err)
		}
	}
	w := serve(h, req("Bearer "+secret))
	if w.Code != http.StatusOK || w.Body.String() != "alice (token ci)|token|" {
		t.Fatalf("valid token: %d %q", w.Code, w.Body)
	}
	if w := serve(h, req("bearer "+secret)); w.Code != http.StatusOK {
		t.Errorf("scheme in lowercase: %d", w.Code)
	}
	if err := s.RevokeToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	w = serve(h, req("Bearer "+secret))
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("revoked token: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	if strings.Contains(w.Body.String(), secret) {
		t.Errorf("the answer shows the token")
	}
}

// login logs alice in and returns the session's cookie and CSRF token.
func login(t *testing.T, s *auth.Service) (*http.Cookie, string) {
	t.Helper()
	id, err := s.Login(context.Background(), "alice", alicePassword, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	s.SetSession(w, httptest.NewRequest("POST", "/login", nil), id)
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("SetSession set %d cookies", len(cookies))
	}
	_, csrf, err := s.Session(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return cookies[0], csrf
}

func TestRequireSession(t *testing.T) {
	s, c, _ := newService(t)
	h := s.RequireSession("/login", whoami)
	cookie, csrf := login(t, s)

	// GET without a cookie: to the login page, with where to come back.
	w := serve(h, httptest.NewRequest("GET", "/batches/b1?status=Failed", nil))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login?next="+url.QueryEscape("/batches/b1?status=Failed") {
		t.Fatalf("GET without a session: %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := serve(h, httptest.NewRequest("POST", "/batches/b1/start", nil)); w.Code != http.StatusUnauthorized {
		t.Fatalf("POST without a session: %d, want 401", w.Code)
	}
	// With the cookie.
	r := httptest.NewRequest("GET", "/batches", nil)
	r.AddCookie(cookie)
	w = serve(h, r)
	if w.Code != http.StatusOK || w.Body.String() != "alice|session|"+csrf {
		t.Fatalf("GET with a session: %d %q", w.Code, w.Body)
	}
	post := func(body, header string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/batches/b1/start", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if header != "" {
			r.Header.Set(auth.CSRFHeader, header)
		}
		r.AddCookie(cookie)
		return serve(h, r)
	}
	if w := post("", ""); w.Code != http.StatusForbidden {
		t.Errorf("POST without CSRF token: %d, want 403", w.Code)
	}
	if w := post("csrf_token=wrong", ""); w.Code != http.StatusForbidden {
		t.Errorf("POST with a wrong CSRF token: %d, want 403", w.Code)
	}
	if w := post("", csrf); w.Code != http.StatusOK {
		t.Errorf("POST with the CSRF header: %d %q", w.Code, w.Body)
	}
	if w := post("confirm=yes&csrf_token="+url.QueryEscape(csrf), ""); w.Code != http.StatusOK {
		t.Errorf("POST with the CSRF field: %d %q", w.Code, w.Body)
	}
	// The token in the query string is not taken (it would leak in logs).
	r = httptest.NewRequest("POST", "/batches/b1/start?csrf_token="+url.QueryEscape(csrf), nil)
	r.AddCookie(cookie)
	if w := serve(h, r); w.Code != http.StatusForbidden {
		t.Errorf("CSRF token in the URL: %d, want 403", w.Code)
	}
	// Another session's token is refused.
	_, other := login(t, s)
	if w := post("", other); w.Code != http.StatusForbidden {
		t.Errorf("another session's CSRF token: %d, want 403", w.Code)
	}
	// A DELETE checks too.
	r = httptest.NewRequest("DELETE", "/batches/b1", nil)
	r.AddCookie(cookie)
	if w := serve(h, r); w.Code != http.StatusForbidden {
		t.Errorf("DELETE without CSRF token: %d, want 403", w.Code)
	}
	// An expired session: back to the login page, the cookie cleared.
	c.Advance(auth.DefaultSessionIdle)
	r = httptest.NewRequest("GET", "/batches", nil)
	r.AddCookie(cookie)
	w = serve(h, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("expired session: %d, want 303", w.Code)
	}
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].Name != auth.SessionCookie || cs[0].MaxAge >= 0 {
		t.Errorf("expired session's cookie not cleared: %+v", cs)
	}
}

// A form handler behind RequireSession still reads its fields (the
// middleware parsed the body to find the token).
func TestRequireSessionKeepsTheForm(t *testing.T) {
	s, _, _ := newService(t)
	cookie, csrf := login(t, s)
	h := s.RequireSession("/login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, _, err := r.FormFile("csv")
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		b, _ := io.ReadAll(f)
		fmt.Fprintf(w, "%s|%s", r.FormValue("name"), b)
	}))
	body := "--X\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + csrf + "\r\n" +
		"--X\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nb1\r\n" +
		"--X\r\nContent-Disposition: form-data; name=\"csv\"; filename=\"m.csv\"\r\n\r\nEmailAddress\r\n--X--\r\n"
	r := httptest.NewRequest("POST", "/batches/new", strings.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=X")
	r.AddCookie(cookie)
	w := serve(h, r)
	if w.Code != http.StatusOK || w.Body.String() != "b1|EmailAddress" {
		t.Fatalf("multipart form: %d %q", w.Code, w.Body)
	}
}

func TestCookies(t *testing.T) {
	s, _, _ := newService(t)
	for _, overTLS := range []bool{false, true} {
		r := httptest.NewRequest("POST", "/login", nil)
		if overTLS {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		s.SetSession(w, r, "the-id")
		s.LoginForm(w, r)
		s.ClearSession(w, r)
		cs := w.Result().Cookies()
		if len(cs) != 3 {
			t.Fatalf("%d cookies", len(cs))
		}
		for _, c := range cs {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != overTLS {
				t.Errorf("TLS %v: cookie %s: HttpOnly %v SameSite %v Path %q Secure %v", overTLS, c.Name, c.HttpOnly, c.SameSite, c.Path, c.Secure)
			}
		}
		if cs[0].Name != auth.SessionCookie || cs[0].Value != "the-id" || cs[0].MaxAge != int(auth.DefaultSessionMax/time.Second) {
			t.Errorf("session cookie: %+v", cs[0])
		}
		if cs[2].Name != auth.SessionCookie || cs[2].MaxAge >= 0 {
			t.Errorf("cleared session cookie: %+v", cs[2])
		}
	}
}

// The login form's double-submit token: the field must match the cookie
// set with the page.
func TestLoginForm(t *testing.T) {
	s, _, _ := newService(t)
	w := httptest.NewRecorder()
	tok := s.LoginForm(w, httptest.NewRequest("GET", "/login", nil))
	cs := w.Result().Cookies()
	if len(cs) != 1 || cs[0].Name != auth.LoginCookie || cs[0].Value != tok || len(tok) != 43 {
		t.Fatalf("LoginForm: %q %+v", tok, cs)
	}
	// The page rendered again reuses the browser's cookie.
	r := httptest.NewRequest("GET", "/login", nil)
	r.AddCookie(cs[0])
	w = httptest.NewRecorder()
	if again := s.LoginForm(w, r); again != tok || len(w.Result().Cookies()) != 0 {
		t.Errorf("second render: %q, cookies %v", again, w.Result().Cookies())
	}
	check := func(field string, withCookie bool) error {
		r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"csrf_token": {field}, "name": {"alice"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withCookie {
			r.AddCookie(cs[0])
		}
		return s.CheckLoginForm(r)
	}
	if err := check(tok, true); err != nil {
		t.Errorf("good form: %v", err)
	}
	if err := check("", true); err != auth.ErrCSRF {
		t.Errorf("no field: %v", err)
	}
	if err := check("forged", true); err != auth.ErrCSRF {
		t.Errorf("other field: %v", err)
	}
	if err := check(tok, false); err != auth.ErrCSRF {
		t.Errorf("no cookie (a form posted from another site): %v", err)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/batches/b1?status=Failed": "/batches/b1?status=Failed",
		"":                          "/",
		"//evil.example/x":          "/",
		"/\\evil.example":           "/",
		"https://evil.example/":     "/",
		"batches":                   "/",
	} {
		if got := auth.SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// apiAndWeb is the shape the server builds: AuditChanges outside one mux,
// the API behind RequireToken (its own mux inside), the dashboard's routes
// each behind RequireSession.
func apiAndWeb(s *auth.Service, status int) http.Handler {
	api := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	api.Handle("POST /api/v1/batches/{name}/start", ok)
	api.Handle("PATCH /api/v1/users/{email}", ok)
	api.Handle("GET /api/v1/batches", ok)
	root := http.NewServeMux()
	root.Handle("/api/v1/", s.RequireToken(api))
	root.Handle("DELETE /batches/{name}", s.RequireSession("/login", ok))
	root.Handle("POST /login", ok) // no principal
	return s.AuditChanges(root)
}

func TestAuditChanges(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	secret, _, err := s.NewToken(ctx, "alice", "ci")
	if err != nil {
		t.Fatal(err)
	}
	cookie, csrf := login(t, s)
	before, _ := s.AuditLog(ctx, 100, 0) // alice's logins
	h := apiAndWeb(s, http.StatusOK)
	do := func(h http.Handler, method, path string, session bool) int {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = "198.51.100.4:50000"
		if session {
			r.AddCookie(cookie)
			r.Header.Set(auth.CSRFHeader, csrf)
		} else {
			r.Header.Set("Authorization", "Bearer "+secret)
		}
		return serve(h, r).Code
	}
	do(h, "POST", "/api/v1/batches/b1/start", false)
	do(h, "PATCH", "/api/v1/users/ann@example.org", false)
	do(h, "GET", "/api/v1/batches", false)                                                      // not a change
	do(h, "DELETE", "/batches/b2", true)                                                        // the dashboard
	do(h, "POST", "/login", false)                                                              // no principal
	do(apiAndWeb(s, http.StatusUnprocessableEntity), "POST", "/api/v1/batches/b3/start", false) // refused
	r := httptest.NewRequest("POST", "/api/v1/batches/b4/start", nil)                           // no token
	serve(h, r)

	all, err := s.AuditLog(ctx, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := all[:len(all)-len(before)]
	want := []auth.AuditEntry{
		{Actor: "alice", Action: "batch remove", Object: "b2", Detail: "DELETE /batches/b2"},
		{Actor: "alice (token ci)", Action: "user update", Object: "ann@example.org", Detail: "PATCH /api/v1/users/ann@example.org"},
		{Actor: "alice (token ci)", Action: "batch start", Object: "b1", Detail: "POST /api/v1/batches/b1/start"},
	}
	if len(got) != len(want) {
		t.Fatalf("audit entries %+v, want %+v", got, want)
	}
	for i, g := range got {
		w := want[i]
		if g.Actor != w.Actor || g.Action != w.Action || g.Object != w.Object || g.Detail != w.Detail || g.Remote != "198.51.100.4" {
			t.Errorf("entry %d: %+v, want %+v", i, g, w)
		}
	}
}

// The readable action of a route's pattern.
func TestAuditActions(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	secret, _, _ := s.NewToken(ctx, "alice", "ci")
	for _, tc := range []struct{ pattern, path, action, object string }{
		{"POST /api/v1/batches", "/api/v1/batches", "batch create", ""},
		{"PATCH /api/v1/batches/{name}", "/api/v1/batches/b1", "batch update", "b1"},
		{"DELETE /api/v1/batches/{name}", "/api/v1/batches/b1", "batch remove", "b1"},
		{"POST /api/v1/batches/{name}/start", "/api/v1/batches/b1/start", "batch start", "b1"},
		{"POST /api/v1/batches/{name}/complete", "/api/v1/batches/b1/complete", "batch complete", "b1"},
		{"POST /api/v1/endpoints/{name}/test", "/api/v1/endpoints/src/test", "endpoint test", "src"},
		{"POST /api/v1/endpoints/test", "/api/v1/endpoints/test", "endpoint test", ""},
		{"POST /api/v1/batches/{name}/users", "/api/v1/batches/b1/users", "batch user create", "b1"},
		{"DELETE /api/v1/users/{email}", "/api/v1/users/a@x.example", "user remove", "a@x.example"},
		{"POST /logout", "/logout", "logout", ""},
		{"POST /files/{path...}", "/files/a/b", "files create", "a/b"},
	} {
		mux := http.NewServeMux()
		mux.Handle(tc.pattern, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		h := s.AuditChanges(s.RequireToken(mux))
		method, _, _ := strings.Cut(tc.pattern, " ")
		r := httptest.NewRequest(method, tc.path, nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		serve(h, r)
		e, err := s.AuditLog(ctx, 1, 0)
		if err != nil || len(e) != 1 {
			t.Fatalf("%s: %+v %v", tc.pattern, e, err)
		}
		if e[0].Action != tc.action || e[0].Object != tc.object {
			t.Errorf("%s: action %q object %q, want %q %q", tc.pattern, e[0].Action, e[0].Object, tc.action, tc.object)
		}
	}
}

// A script's JSON body (token in the header) reaches the handler whole; a
// form over MaxFormBytes is refused with 413.
func TestRequireSessionBodies(t *testing.T) {
	s, _, _ := newService(t)
	s.MaxFormBytes = 1 << 10
	cookie, csrf := login(t, s)
	h := s.RequireSession("/login", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}))
	r := httptest.NewRequest("PATCH", "/batches/b1", strings.NewReader(`{"Name":"b1"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(auth.CSRFHeader, csrf)
	r.AddCookie(cookie)
	if w := serve(h, r); w.Code != http.StatusOK || w.Body.String() != `{"Name":"b1"}` {
		t.Errorf("JSON body: %d %q", w.Code, w.Body)
	}
	// Without the header, a body that is no form has no token: 403, and
	// it is not read.
	r = httptest.NewRequest("PATCH", "/batches/b1", strings.NewReader(`{"Name":"b1"}`))
	r.Header.Set("Content-Type", "application/json")
	r.AddCookie(cookie)
	if w := serve(h, r); w.Code != http.StatusForbidden {
		t.Errorf("JSON body without the header: %d, want 403", w.Code)
	}
	r = httptest.NewRequest("POST", "/batches/new", strings.NewReader("csrf_token="+url.QueryEscape(csrf)+"&csv="+strings.Repeat("x", 2<<10)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(cookie)
	if w := serve(h, r); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a form over MaxFormBytes: %d, want 413", w.Code)
	}
	body := "--X\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + csrf + "\r\n" +
		"--X\r\nContent-Disposition: form-data; name=\"csv\"; filename=\"m.csv\"\r\n\r\n" + strings.Repeat("x", 2<<10) + "\r\n--X--\r\n"
	r = httptest.NewRequest("POST", "/batches/new", strings.NewReader(body))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=X")
	r.AddCookie(cookie)
	if w := serve(h, r); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a multipart form over MaxFormBytes: %d, want 413", w.Code)
	}
}

// A create names its object from its body: SetAuditObject, through the
// API's token and the dashboard's session alike; outside AuditChanges it
// does nothing.
func TestSetAuditObject(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	secret, _, err := s.NewToken(ctx, "alice", "ci")
	if err != nil {
		t.Fatal(err)
	}
	cookie, csrf := login(t, s)
	named := func(status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			auth.SetAuditObject(r.Context(), "first")
			auth.SetAuditObject(r.Context(), r.FormValue("name")) // the last wins
			w.WriteHeader(status)
		})
	}
	api := http.NewServeMux()
	api.Handle("POST /api/v1/batches", named(http.StatusCreated))
	api.Handle("POST /api/v1/endpoints", named(http.StatusUnprocessableEntity))
	root := http.NewServeMux()
	root.Handle("/api/v1/", s.RequireToken(api))
	root.Handle("POST /endpoints/new", s.RequireSession("/login", named(http.StatusSeeOther)))
	h := s.AuditChanges(root)
	do := func(path, name string, session bool) {
		r := httptest.NewRequest("POST", path+"?name="+name, nil)
		if session {
			r.AddCookie(cookie)
			r.Header.Set(auth.CSRFHeader, csrf)
		} else {
			r.Header.Set("Authorization", "Bearer "+secret)
		}
		serve(h, r)
	}
	do("/api/v1/batches", "b1", false)
	do("/api/v1/endpoints", "refused", false) // 422: not recorded
	do("/endpoints/new", "src", true)
	e, err := s.AuditLog(ctx, 2, 0)
	if err != nil || len(e) != 2 {
		t.Fatalf("audit log: %+v %v", e, err)
	}
	if e[0].Action != "endpoint new" || e[0].Object != "src" || e[0].Actor != "alice" {
		t.Errorf("the dashboard's create: %+v", e[0])
	}
	if e[1].Action != "batch create" || e[1].Object != "b1" || e[1].Actor != "alice (token ci)" {
		t.Errorf("the API's create: %+v", e[1])
	}
	// Without AuditChanges around it: nothing to note, no panic.
	serve(s.RequireToken(named(http.StatusCreated)), func() *http.Request {
		r := httptest.NewRequest("POST", "/api/v1/batches?name=x", nil)
		r.Header.Set("Authorization", "Bearer "+secret)
		return r
	}())
	auth.SetAuditObject(ctx, "nothing")
}
