package web_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/server"
	"github.com/imapmigrate/imapmigrate/internal/web"
)

// testKDF makes password hashes cheap in tests.
var testKDF = auth.KDF{Time: 1, MemoryKiB: 64, Threads: 1}

const (
	adminName     = "alice"
	adminPassword = "correct horse battery"
)

// env is the dashboard on the real service and store (SQLite in a
// temporary directory).
type env struct {
	srv  *server.Server
	ts   *httptest.Server
	c    *http.Client
	csrf string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	t.Setenv(secret.EnvKey, "")
	ctx := context.Background()
	srv, err := server.Open(ctx, server.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.Auth.KDF = testKDF
	h, err := web.New(web.Config{Service: srv.Service, Auth: srv.Auth})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Auth.AuditChanges(h)) // as serve mounts it
	t.Cleanup(ts.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &env{srv: srv, ts: ts, c: c}
}

func httptestServer(t testing.TB, h http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

func (e *env) get(t testing.TB, path string) (int, string, http.Header) {
	t.Helper()
	res, err := e.c.Get(e.ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func (e *env) post(t testing.TB, path string, form url.Values) (int, string, http.Header) {
	t.Helper()
	res, err := e.c.PostForm(e.ts.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfOf(t testing.TB, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf_token in the page:\n%s", body)
	}
	return m[1]
}

// login logs in as the admin and keeps the session's CSRF token.
func (e *env) login(t testing.TB) {
	t.Helper()
	if _, err := e.srv.Auth.AddAdmin(context.Background(), adminName, adminPassword); err != nil {
		t.Fatal(err)
	}
	_, body, _ := e.get(t, "/login")
	code, _, hd := e.post(t, "/login", url.Values{"csrf_token": {csrfOf(t, body)}, "name": {adminName}, "password": {adminPassword}, "next": {"/batches"}})
	if code != http.StatusSeeOther || hd.Get("Location") != "/batches" {
		t.Fatalf("login: %d to %q", code, hd.Get("Location"))
	}
	_, body, _ = e.get(t, "/batches")
	e.csrf = csrfOf(t, body)
}

func (e *env) endpoints(t testing.TB) {
	t.Helper()
	for _, p := range []migration.EndpointParams{
		{Endpoint: migration.Endpoint{Name: "old", Server: "imap.old.example", Security: imapconn.SecuritySSL}},
		{Endpoint: migration.Endpoint{Name: "new", Server: "imap.new.example", Security: imapconn.SecuritySSL, MailboxAccess: migration.AccessMaster,
			AdminUser: "mailadmin"}, AdminPassword: "admin-pw"},
	} {
		p.SkipVerify = true
		if _, err := e.srv.Service.NewEndpoint(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
}

// upload posts the new batch form with a migration file.
func (e *env) upload(t testing.TB, action, name, csv string, extra map[string]string) (int, string, http.Header) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields := map[string]string{"csrf_token": e.csrf, "name": name, "source": "old", "target": "new", "encoding": "auto", "interval": "24h"}
	for k, v := range extra {
		fields[k] = v
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("csv", "users.csv")
	io.WriteString(fw, csv)
	mw.Close()
	path := "/batches/new"
	if action == "check" {
		path = "/batches/check"
	}
	res, err := e.c.Post(e.ts.URL+path, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

func TestNoAdminSaysHowToCreateOne(t *testing.T) {
	e := newEnv(t)
	code, _, hd := e.get(t, "/batches")
	if code != http.StatusSeeOther || !strings.HasPrefix(hd.Get("Location"), "/login?next=") {
		t.Fatalf("a page without a session: %d to %q", code, hd.Get("Location"))
	}
	code, body, _ := e.get(t, "/login")
	if code != http.StatusOK || !strings.Contains(body, "imapmigrate admin add NAME --password-file F") {
		t.Fatalf("the login page without an account: %d\n%s", code, body)
	}
}

func TestEveryPageNeedsASession(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/", "/batches", "/batches/rows", "/batches/new", "/batches/B", "/batches/B/live", "/batches/B/remove",
		"/users/a@x.example", "/endpoints", "/endpoints/new", "/endpoints/old", "/endpoints/old/remove", "/audit"} {
		if code, _, hd := e.get(t, p); code != http.StatusSeeOther || !strings.HasPrefix(hd.Get("Location"), "/login?next=") {
			t.Errorf("GET %s: %d to %q", p, code, hd.Get("Location"))
		}
	}
	for _, p := range []string{"/batches/B/start", "/batches/B/stop", "/batches/B/complete", "/batches/B/remove", "/batches/new",
		"/batches/check", "/endpoints/new", "/endpoints/old/edit", "/endpoints/old/test", "/endpoints/old/remove", "/users/a@x.example/password", "/logout"} {
		if code, _, _ := e.post(t, p, url.Values{}); code != http.StatusUnauthorized {
			t.Errorf("POST %s: %d", p, code)
		}
	}
	if code, body, _ := e.get(t, "/static/style.css"); code != http.StatusOK || !strings.Contains(body, ":focus-visible") {
		t.Errorf("the style sheet: %d", code)
	}
}

func TestLoginLogoutAndCSRF(t *testing.T) {
	e := newEnv(t)
	if _, err := e.srv.Auth.AddAdmin(context.Background(), adminName, adminPassword); err != nil {
		t.Fatal(err)
	}
	_, body, _ := e.get(t, "/login")
	tok := csrfOf(t, body)
	if code, _, _ := e.post(t, "/login", url.Values{"name": {adminName}, "password": {adminPassword}}); code != http.StatusForbidden {
		t.Errorf("a login without the form's token: %d", code)
	}
	if code, body, _ := e.post(t, "/login", url.Values{"csrf_token": {tok}, "name": {adminName}, "password": {"wrong password!"}}); code != http.StatusUnauthorized || !strings.Contains(body, "Wrong account name or password") {
		t.Errorf("a wrong password: %d", code)
	}
	code, _, hd := e.post(t, "/login", url.Values{"csrf_token": {tok}, "name": {adminName}, "password": {adminPassword}, "next": {"//evil.example/"}})
	if code != http.StatusSeeOther || hd.Get("Location") != "/" {
		t.Fatalf("login: %d to %q", code, hd.Get("Location"))
	}
	code, body, _ = e.get(t, "/")
	if code != http.StatusOK || !strings.Contains(body, "Migration batches") || !strings.Contains(body, adminName) {
		t.Fatalf("the batches page after login: %d", code)
	}
	e.csrf = csrfOf(t, body)
	// A change without the session's token is refused.
	e.endpoints(t)
	if code, _, _ := e.post(t, "/logout", url.Values{}); code != http.StatusForbidden {
		t.Errorf("logout without the token: %d", code)
	}
	if code, _, hd := e.post(t, "/logout", url.Values{"csrf_token": {e.csrf}}); code != http.StatusSeeOther || hd.Get("Location") != "/login" {
		t.Errorf("logout: %d to %q", code, hd.Get("Location"))
	}
	if code, _, _ := e.get(t, "/batches"); code != http.StatusSeeOther {
		t.Errorf("a page after logout: %d", code)
	}
}

func TestNewBatchShowsEveryProblemThenCreates(t *testing.T) {
	e := newEnv(t)
	e.login(t)
	e.endpoints(t)
	bad := "EmailAddress,UserName,Password\r\nnot-an-address,a,Pw-A\r\nb@new.example,,Pw-B\r\n"
	code, body, _ := e.upload(t, "create", "bad name", bad, map[string]string{"interval": "soon"})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Incremental sync every") || !strings.Contains(body, "not a duration") {
		t.Fatalf("a bad interval: %d\n%s", code, body)
	}
	code, body, _ = e.upload(t, "create", "bad name", bad, nil)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("a bad file: %d", code)
	}
	for _, want := range []string{"Migration file: 2 problems", `<td>2</td><td>EmailAddress</td>`, `<td>3</td><td>UserName</td>`, "use letters, digits"} {
		if !strings.Contains(body, want) {
			t.Errorf("the problems page lacks %q", want)
		}
	}
	if bs, _ := e.srv.Service.Batches(context.Background(), ""); len(bs) != 0 {
		t.Fatalf("a batch was created from a bad file: %v", bs)
	}
	good := "EmailAddress,UserName,Password\r\na@new.example,a*mailadmin,Pw-A\r\nb@new.example,b,Pw-B\r\n"
	code, body, _ = e.upload(t, "check", "B1", good, nil)
	if code != http.StatusOK || !strings.Contains(body, "valid, 2 mailboxes") || !strings.Contains(body, "<td>dovecot</td>") || !strings.Contains(body, "1 plain") {
		t.Fatalf("a good file checked: %d\n%s", code, body)
	}
	if strings.Contains(body, "Pw-A") {
		t.Error("the check shows a password")
	}
	if bs, _ := e.srv.Service.Batches(context.Background(), ""); len(bs) != 0 {
		t.Fatalf("a check created a batch: %v", bs)
	}
	code, _, hd := e.upload(t, "create", "B1", good, map[string]string{"exclude": "Junk\n#DeletedItems#"})
	if code != http.StatusSeeOther || hd.Get("Location") != "/batches/B1?done=created" {
		t.Fatalf("create: %d to %q", code, hd.Get("Location"))
	}
	code, body, _ = e.get(t, "/batches/B1?done=created")
	for _, want := range []string{"The batch is created.", "a@new.example", "b@new.example", "Junk, #DeletedItems#", `data-refresh="/batches/B1/live"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the batch page lacks %q", want)
		}
	}
	if code != http.StatusOK {
		t.Errorf("the batch page: %d", code)
	}
	// The create is audited with the batch's name (it is in the form, not the path).
	if log, err := e.srv.Auth.AuditLog(context.Background(), 1, 0); err != nil || len(log) != 1 || log[0].Action != "batch new" || log[0].Object != "B1" {
		t.Errorf("the audit entry of the create: %+v %v", log, err)
	}
}

func TestBatchActionsAndRemoval(t *testing.T) {
	e := newEnv(t)
	e.login(t)
	e.endpoints(t)
	ctx := context.Background()
	if _, _, err := e.srv.Service.NewBatch(ctx, migration.BatchParams{Name: "B", Source: "old", Target: "new",
		CSV: strings.NewReader("EmailAddress,UserName,Password\r\na@new.example,a,pw\r\n")}); err != nil {
		t.Fatal(err)
	}
	// A refused change says why.
	if code, body, _ := e.post(t, "/batches/B/stop", url.Values{"csrf_token": {e.csrf}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "only a syncing or synced batch can be stopped") {
		t.Errorf("stop a created batch: %d", code)
	}
	if code, _, hd := e.post(t, "/batches/B/start", url.Values{"csrf_token": {e.csrf}}); code != http.StatusSeeOther || hd.Get("Location") != "/batches/B?done=started" {
		t.Fatalf("start: %d %q", code, hd.Get("Location"))
	}
	if b, _ := e.srv.Service.Batch(ctx, "B"); b.Intent != migration.IntentRunning {
		t.Errorf("after start: %s", b.Intent)
	}
	if code, body, _ := e.get(t, "/batches/B/live?status=Queued"); code != http.StatusOK || !strings.Contains(body, "a@new.example") || strings.Contains(body, "<html") {
		t.Errorf("the live fragment: %d\n%s", code, body)
	}
	if _, body, _ := e.get(t, "/batches/B"); !strings.Contains(body, "No worker is running") {
		t.Error("the batch page does not say that no worker runs")
	}
	if code, body, _ := e.get(t, "/batches/rows"); code != http.StatusOK || !strings.Contains(body, `href="/batches/B"`) {
		t.Errorf("the rows fragment: %d", code)
	}
	if code, _, _ := e.get(t, "/batches/B?status=Bogus"); code != http.StatusUnprocessableEntity {
		t.Errorf("an unknown status filter: %d", code)
	}
	// A report e-mail that failed is shown with its error.
	now := time.Now()
	if _, err := e.srv.Store.EnqueueNotification(ctx, &migration.Notification{Batch: "B", Kind: migration.NotifyReport, Seq: 1,
		Recipients: []string{"ops@new.example"}, Subject: "Batch B: report", Body: "…", CreatedAt: now, Due: now}); err != nil {
		t.Fatal(err)
	}
	n, err := e.srv.Store.LeaseNotification(ctx, "test", now, time.Minute)
	if err != nil || n == nil {
		t.Fatalf("lease the mail: %v %v", n, err)
	}
	if err := e.srv.Store.NotificationFailed(ctx, n.ID, "test", "550 mailbox unavailable", now.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if _, body, _ := e.get(t, "/batches/B"); !strings.Contains(body, "Batch B: report") || !strings.Contains(body, "Retrying") || !strings.Contains(body, "550 mailbox unavailable") {
		t.Errorf("the batch page does not show the failed report e-mail")
	}
	// A user's page (its history of passes after a real sync:
	// TestUserPageHistoryOfPasses), and its new password.
	if code, body, _ := e.get(t, "/users/a@new.example"); code != http.StatusOK || !strings.Contains(body, "No folder synced yet") || !strings.Contains(body, "No pass has ended yet") {
		t.Errorf("the user's page: %d", code)
	}
	if code, body, _ := e.post(t, "/users/a@new.example/password", url.Values{"csrf_token": {e.csrf}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "give the new password") {
		t.Errorf("no password: %d", code)
	}
	if code, _, hd := e.post(t, "/users/a@new.example/password", url.Values{"csrf_token": {e.csrf}, "password": {"New-Pw-1"}}); code != http.StatusSeeOther || hd.Get("Location") != "/users/a@new.example?done=password" {
		t.Errorf("a new password: %d %q", code, hd.Get("Location"))
	}
	if code, _, _ := e.get(t, "/users/nobody@new.example"); code != http.StatusNotFound {
		t.Errorf("no such user: %d", code)
	}
	code, body, _ := e.get(t, "/batches/B/remove")
	if code != http.StatusOK || !strings.Contains(body, "<strong>1</strong> migration user") || !strings.Contains(body, "Remove batch B") {
		t.Errorf("the confirmation page: %d\n%s", code, body)
	}
	if code, _, hd := e.post(t, "/batches/B/remove", url.Values{"csrf_token": {e.csrf}}); code != http.StatusSeeOther || hd.Get("Location") != "/batches?done=removed" {
		t.Errorf("remove: %d %q", code, hd.Get("Location"))
	}
	if code, _, _ := e.get(t, "/batches/B"); code != http.StatusNotFound {
		t.Errorf("a removed batch: %d", code)
	}
	// The same form sent again finds the batch gone, as it asked.
	if code, _, hd := e.post(t, "/batches/B/remove", url.Values{"csrf_token": {e.csrf}}); code != http.StatusSeeOther || hd.Get("Location") != "/batches?done=gone" {
		t.Errorf("remove again: %d %q", code, hd.Get("Location"))
	}
}

func TestEndpointAndAuditPages(t *testing.T) {
	e := newEnv(t)
	e.login(t)
	code, body, _ := e.post(t, "/endpoints/new", url.Values{"csrf_token": {e.csrf}, "name": {"src"}, "server": {""}, "security": {"ssl"},
		"port": {"99999"}, "skip_verify": {"1"}, "max_migrations": {"x"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "must be a whole number") {
		t.Errorf("a bad number: %d", code)
	}
	code, body, _ = e.post(t, "/endpoints/new", url.Values{"csrf_token": {e.csrf}, "name": {"src"}, "server": {""}, "security": {"ssl"},
		"port": {"99999"}, "skip_verify": {"1"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "required: the IMAP server") || !strings.Contains(body, "between 1 and 65535") {
		t.Errorf("bad settings: %d\n%s", code, body)
	}
	code, _, hd := e.post(t, "/endpoints/new", url.Values{"csrf_token": {e.csrf}, "name": {"src"}, "server": {"127.0.0.1"}, "security": {"none"},
		"port": {"1"}, "skip_verify": {"1"}})
	if code != http.StatusSeeOther || hd.Get("Location") != "/endpoints/src?done=saved" {
		t.Fatalf("create: %d %q", code, hd.Get("Location"))
	}
	if code, body, _ := e.get(t, "/endpoints"); code != http.StatusOK || !strings.Contains(body, "127.0.0.1:1") {
		t.Errorf("the endpoints page: %d", code)
	}
	code, _, _ = e.post(t, "/endpoints/src/edit", url.Values{"csrf_token": {e.csrf}, "server": {"127.0.0.1"}, "security": {"none"}, "port": {"2"}})
	if code != http.StatusSeeOther {
		t.Errorf("edit: %d", code)
	}
	if eps, _ := e.srv.Service.Endpoints(context.Background(), "src"); eps[0].Port != 2 {
		t.Errorf("after edit: port %d", eps[0].Port)
	}
	// Nothing listens on port 2: the test says which step failed.
	code, body, _ = e.post(t, "/endpoints/src/test", url.Values{"csrf_token": {e.csrf}})
	if code != http.StatusOK || !strings.Contains(body, "FAILED") || !strings.Contains(body, "connect") {
		t.Errorf("a test of a closed port: %d\n%s", code, body)
	}
	if !strings.Contains(body, "check “Port”") || strings.Contains(body, "--port") {
		t.Errorf("the fix does not name the form's Port field:\n%s", body)
	}
	// Removal: confirmed, refused while a batch uses the endpoint.
	if code, body, _ := e.get(t, "/endpoints/src/remove"); code != http.StatusOK || !strings.Contains(body, "Remove endpoint src") {
		t.Errorf("the confirmation page: %d", code)
	}
	e.endpoints(t)
	if _, _, err := e.srv.Service.NewBatch(context.Background(), migration.BatchParams{Name: "B", Source: "old", Target: "new",
		CSV: strings.NewReader("EmailAddress,UserName,Password\r\na@new.example,a,pw\r\n")}); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := e.post(t, "/endpoints/old/remove", url.Values{"csrf_token": {e.csrf}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "remove the batch first") {
		t.Errorf("remove an endpoint in use: %d", code)
	}
	if code, _, hd := e.post(t, "/endpoints/src/remove", url.Values{"csrf_token": {e.csrf}}); code != http.StatusSeeOther || hd.Get("Location") != "/endpoints?done=endpoint" {
		t.Errorf("remove: %d %q", code, hd.Get("Location"))
	}
	if code, _, _ := e.get(t, "/endpoints/src"); code != http.StatusNotFound {
		t.Errorf("a removed endpoint: %d", code)
	}
	// The create is audited with the endpoint's name (in the form, not the path).
	found := false
	if log, err := e.srv.Auth.AuditLog(context.Background(), 100, 0); err == nil {
		for _, a := range log {
			found = found || a.Action == "endpoint new" && a.Object == "src"
		}
	}
	if !found {
		t.Error("no audit entry of endpoint new src")
	}
	code, body, _ = e.get(t, "/audit")
	for _, want := range []string{"endpoint new", "endpoint edit", "<td>src</td>", "<td>" + adminName + "</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the audit page lacks %q", want)
		}
	}
	if code != http.StatusOK {
		t.Errorf("the audit page: %d", code)
	}
}

// TestOversizeUpload: a migration file over the limit is answered with the
// new batch form and the problem (413), in the dashboard's page, whether
// sent by the form or by its "Check the file" script; a form without its
// CSRF token is still refused (403), and without a session 401.
func TestOversizeUpload(t *testing.T) {
	e := newEnv(t)
	e.login(t)
	e.endpoints(t)
	big := "EmailAddress,UserName,Password\r\n" + strings.Repeat("someone@new.example,someone,password\r\n", 12<<20/38)
	for _, action := range []string{"create", "check"} {
		code, body, _ := e.upload(t, action, "Big", big, nil)
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "the file is larger than 10 MiB") ||
			!strings.Contains(body, `id="check-result"`) || !strings.Contains(body, `<form class="form" method="post" action="/batches/new"`) ||
			!strings.Contains(body, `name="csrf_token" value="`+e.csrf+`"`) || !strings.Contains(body, adminName) {
			t.Errorf("%s with a 12 MiB file: %d\n%s", action, code, body)
		}
	}
	if bs, _ := e.srv.Service.Batches(context.Background(), ""); len(bs) != 0 {
		t.Errorf("a batch was created: %+v", bs)
	}
	// The session still works on the same connection.
	if code, _, _ := e.get(t, "/batches"); code != http.StatusOK {
		t.Errorf("the batches after the refusal: %d", code)
	}
	// No token: 403, as for a small form.
	csrf := e.csrf
	e.csrf = ""
	if code, body, _ := e.upload(t, "create", "Small", "EmailAddress,UserName,Password\r\na@new.example,a,pw\r\n", nil); code != http.StatusForbidden {
		t.Errorf("a small form without its token: %d\n%s", code, body)
	}
	e.csrf = csrf
	// Without a session, as any request without one.
	jarless := &http.Client{CheckRedirect: e.c.CheckRedirect}
	res, err := jarless.Post(e.ts.URL+"/batches/new", "multipart/form-data; boundary=x", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a large form without a session: %d", res.StatusCode)
	}
}
