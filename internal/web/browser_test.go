package web_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/imapmigrate/imapmigrate/internal/demoserver"
	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/server"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
	"github.com/imapmigrate/imapmigrate/internal/web"
)

// chromiumPath is Debian's chromium (apt-get install chromium).
const chromiumPath = "/usr/bin/chromium"

// screenshotsEnv, set to 1, makes the browser test save the main pages
// into docs/screenshots (make screenshots); `make test` leaves them.
const screenshotsEnv = "IMAPMIGRATE_SCREENSHOTS"

// testBudget bounds the whole test when `go test` sets no deadline; with
// one (-timeout), the test ends a little before it, to say where it was.
const testBudget = 15 * time.Minute

// browser is a headless chromium driven by the test, on the dashboard of
// a real service with a scheduler running passes between two in-process
// IMAP servers.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string // where screenshots go; "" for none
	// deadline bounds every wait: each waits for its condition, as long
	// as the whole test may take, never for a fixed time.
	deadline time.Time
}

// TestBrowser runs a whole migration from the dashboard: log in, upload a
// migration file with errors and see each problem, upload a good one and
// create the batch, watch the users reach Synced without reloading, stop,
// start, complete and remove it.
func TestBrowser(t *testing.T) {
	_, err := os.Stat(chromiumPath)
	testenv.RequireReal(t, "chromium (apt-get install chromium)", err == nil)
	t.Setenv(secret.EnvKey, "")
	ctx := context.Background()

	// Two IMAP servers, the source with mail in it; the target has the
	// mailboxes, empty.
	quiet := log.New(io.Discard, "", 0)
	const adminPW = "mail-admin-pw"
	src := testenv.StartMemServer(t, testenv.MemServerOptions{MasterUser: "mailadmin", MasterPassword: adminPW, Logger: quiet})
	tgt := testenv.StartMemServer(t, testenv.MemServerOptions{MasterUser: "mailadmin", MasterPassword: adminPW, Logger: quiet})
	names := []string{"terry.adams", "ann.beck", "li.wei", "sven.olsson", "maria.garcia", "yuki.tanaka"}
	rng := rand.New(rand.NewPCG(9, 9))
	var good strings.Builder
	good.WriteString("EmailAddress,UserName,Password\r\n")
	for _, n := range names {
		if err := src.AddUser(n, "user-pw"); err != nil {
			t.Fatal(err)
		}
		if err := tgt.AddUser(n+"@new.example", "user-pw"); err != nil {
			t.Fatal(err)
		}
		c, err := demoserver.DialLogin(src.Addr(), n, "user-pw", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := demoserver.SeedSample(c, rng, map[string]int{"INBOX": 12, "Sent": 5, "Archive/2024": 6, "Junk": 2}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		fmt.Fprintf(&good, "%s@new.example,%s*mailadmin,%s\r\n", n, n, adminPW)
	}

	// The service, an admin, the endpoints, a scheduler.
	srv, err := server.Open(ctx, server.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.Auth.KDF = testKDF
	if _, err := srv.Auth.AddAdmin(ctx, adminName, adminPassword); err != nil {
		t.Fatal(err)
	}
	for _, p := range []migration.EndpointParams{
		{Endpoint: migration.Endpoint{Name: "old-imap", Server: src.Host, Port: src.TLSPort, Security: imapconn.SecuritySSL, CAFile: src.CA.CAFile,
			MaxConcurrentMigrations: 3, MaxConcurrentIncrementalSyncs: 2}},
		{Endpoint: migration.Endpoint{Name: "new-imap", Server: tgt.Host, Port: tgt.TLSPort, Security: imapconn.SecuritySSL, CAFile: tgt.CA.CAFile,
			MaxConcurrentMigrations: 3, MaxConcurrentIncrementalSyncs: 2, MailboxAccess: migration.AccessMaster, AdminUser: "mailadmin"},
			AdminPassword: adminPW, TestMailbox: names[0] + "@new.example"},
	} {
		if _, err := srv.Service.NewEndpoint(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	runner := server.Start(ctx, srv.Scheduler(server.WorkerOptions{Name: "browser-test", Workers: 3, LeaseTTL: 30 * time.Second,
		Poll: 100 * time.Millisecond, Progress: 200 * time.Millisecond, ParallelFolders: 2, RetryBase: time.Second}, "", nil))
	t.Cleanup(func() { runner.Stop() })

	h, err := web.New(web.Config{Service: srv.Service, Auth: srv.Auth, RefreshInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptestServer(t, srv.Auth.AuditChanges(h)) // as serve mounts it

	b := newBrowser(t, ts)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badFile := write("bad.csv", "EmailAddress,UserName,Password\r\nterry.adams@new.example,terry.adams*mailadmin,"+adminPW+
		"\r\nnot-an-address,ann.beck*mailadmin,"+adminPW+"\r\nli.wei@new.example,,"+adminPW+"\r\nterry.adams@new.example,terry.adams,pw\r\n")
	goodFile := write("users.csv", good.String())

	// Log in: a page asked for leads to the login page, then back to it.
	b.do(chromedp.Navigate(b.base + "/batches/new"))
	b.do(chromedp.WaitVisible(chromedp.CSS("#password")))
	b.shot("login")
	b.do(chromedp.SendKeys(chromedp.CSS("#name"), adminName), chromedp.SendKeys(chromedp.CSS("#password"), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)))
	b.do(chromedp.WaitVisible(chromedp.CSS("#csv")))
	if got := b.eval(`document.querySelector("#source").value + " → " + document.querySelector("#target").value`); got != "old-imap → new-imap" {
		t.Errorf("the endpoints chosen at first: %s", got)
	}

	// A file with errors: every problem against its row and column.
	b.do(chromedp.SendKeys(chromedp.CSS("#name"), "Pilot"), chromedp.SetUploadFiles(chromedp.CSS("#csv"), []string{badFile}),
		chromedp.Click(chromedp.CSS(`button[value=create]`)))
	b.do(chromedp.WaitVisible(chromedp.CSS("#file-problems")))
	problems := b.text("#check-result")
	for _, want := range []string{"Migration file: 3 problems", "3\tEmailAddress", "4\tUserName", "5\tEmailAddress"} {
		if !strings.Contains(problems, want) {
			t.Errorf("the problems lack %q:\n%s", want, problems)
		}
	}
	b.shot("new-batch-problems")
	if bs, _ := srv.Service.Batches(ctx, ""); len(bs) != 0 {
		t.Fatalf("a batch was created from a bad file: %+v", bs)
	}

	// The good file: checked in place (the file stays chosen), its login
	// forms shown, then the batch created and started.
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#csv"), []string{goodFile}), chromedp.Click(chromedp.CSS(`button[value=check]`)))
	b.poll(`document.querySelector("#checked-h") && document.querySelector("#checked-h").textContent.includes("valid, 6 mailboxes")`)
	if got := b.text("#check-result"); !strings.Contains(got, "6 dovecot") || strings.Contains(got, adminPW) {
		t.Errorf("the checked file:\n%s", got)
	}
	b.shot("new-batch-checked")
	b.do(chromedp.Click(chromedp.CSS("details > summary")), chromedp.SendKeys(chromedp.CSS("#exclude"), "#JunkEmail#"),
		chromedp.Click(chromedp.CSS("#auto_start")), chromedp.Click(chromedp.CSS(`button[value=create]`)))
	b.do(chromedp.WaitVisible(chromedp.CSS("#live")))
	if loc := b.location(); !strings.HasSuffix(loc, "/batches/Pilot?done=created") {
		t.Fatalf("after create: %s", loc)
	}

	// The users reach Synced while the page stays as it is: only the
	// live part changes.
	b.do(chromedp.Evaluate[chromedp.Void](`window.__sameLoad = true`))
	b.poll(`(() => { const s = [...document.querySelectorAll("#live td.user-status")].map(e => e.textContent.trim());
		return s.length === 6 && s.every(x => x === "Synced"); })()`)
	if same, _ := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.__sameLoad === true`)); !same {
		t.Error("the page was reloaded to show the users synced")
	}
	b.poll(`document.querySelector("#summary-h") && document.querySelector("#live .summary .badge").textContent === "Synced"`)
	b.shot("batch")
	// A keyboard user's focus stays on the link it was on across refreshes.
	// Focused and its refresh noted in one evaluation: the live script
	// cannot replace the link in between (a DOM.focus on a node it just
	// replaced would fail).
	b.poll(`(() => { const a = document.querySelector('#live a[href="/users/ann.beck@new.example"]'); if (!a) return false;
		a.focus(); window.__before = document.querySelector("#live").getAttribute("data-refreshed"); return document.activeElement === a; })()`)
	b.poll(`document.querySelector("#live").getAttribute("data-refreshed") !== window.__before`)
	if got := b.eval(`document.activeElement.getAttribute("href") || document.activeElement.tagName`); got != "/users/ann.beck@new.example" {
		t.Errorf("the focus after a refresh is on %s", got)
	}

	// A user's page: its folders (Junk excluded).
	b.do(chromedp.Navigate(b.base + "/users/" + names[0] + "@new.example"))
	b.do(chromedp.WaitVisible(chromedp.CSS("#folders-h")))
	if got := b.text("main"); !strings.Contains(got, "Archive/2024") || strings.Contains(got, "Junk\t") {
		t.Errorf("the user's folders:\n%s", got)
	}
	b.shot("user")

	// Stop, start, complete, remove.
	b.do(chromedp.Navigate(b.base + "/batches/Pilot"))
	b.action("stop", "Stop asked")
	b.poll(`document.querySelector("#live .summary .badge").textContent === "Stopped"`)
	b.action("start", "Start asked")
	b.poll(`!["Stopped", "Stopping"].includes(document.querySelector("#live .summary .badge").textContent)`)
	b.action("complete", "Complete asked")
	b.poll(`document.querySelector("#live .summary .badge").textContent === "Completed"`)
	b.do(chromedp.Navigate(b.base + "/batches"))
	b.do(chromedp.WaitVisible(chromedp.CSS(`a[href="/batches/Pilot"]`)))
	b.shot("batches")
	// The link is in the table the live script replaces every 300 ms.
	b.clickLive(`a[href="/batches/Pilot/remove"]`)
	b.do(chromedp.WaitVisible(chromedp.CSS(".confirm")))
	if got := b.text(".confirm"); !strings.Contains(got, "its 6 migration users") {
		t.Errorf("the confirmation:\n%s", got)
	}
	b.shot("remove-batch")
	b.do(chromedp.Click(chromedp.CSS(`.confirm button.danger`)))
	// Removed at once, as no worker holds a user of a Completed batch
	// (a claim and a pass's end set a user's status and its lease in one
	// transaction); were one held, the batch's page says "being removed"
	// and its live part stops (404) once a worker has let the user go and
	// the scheduler has finished the removal.
	b.poll(`(location.pathname === "/batches" && document.querySelector(".notice") !== null && document.querySelector(".notice").textContent.includes("removed")) ||
		(location.pathname === "/batches/Pilot" && document.querySelector(".notice") !== null && document.querySelector(".notice").textContent.includes("being removed"))`)
	if strings.HasSuffix(b.location(), "done=removing") {
		b.poll(`document.querySelector("#live").getAttribute("data-refresh-stopped") === "404"`)
	}
	if _, err := srv.Service.Batch(ctx, "Pilot"); err == nil {
		t.Error("the batch is still there")
	}

	// The endpoints: the list and a connection test, step by step.
	b.do(chromedp.Navigate(b.base + "/endpoints"))
	b.do(chromedp.WaitVisible(chromedp.CSS(`a[href="/endpoints/new-imap"]`)))
	b.shot("endpoints")
	b.do(chromedp.Navigate(b.base + "/endpoints/new-imap"))
	b.do(chromedp.SendKeys(chromedp.CSS("#tm"), names[1]+"@new.example"), chromedp.Click(chromedp.CSS(`form[action$="/test"] button`)))
	b.do(chromedp.WaitVisible(chromedp.CSS("ol.steps")))
	if got := b.text("main"); !strings.Contains(got, "The server is ready for a migration") || !strings.Contains(got, "Login passed") {
		t.Errorf("the endpoint test:\n%s", got)
	}
	b.shot("endpoint-test")
	b.do(chromedp.Navigate(b.base + "/audit"))
	b.do(chromedp.WaitVisible(chromedp.CSS("main table")))
	if got := b.text("main table"); !strings.Contains(got, "batch start\tPilot") || !strings.Contains(got, "batch remove\tPilot") ||
		!strings.Contains(got, "batch check") || strings.Count(got, "batch new") != 1 {
		t.Errorf("the audit log:\n%s", got)
	}
	b.shot("audit")

	// Without JavaScript: the same pages, each change a form sent.
	tab, cancelTab := chromedp.NewContext(b.ctx)
	defer cancelTab()
	if err := chromedp.Do(tab); err != nil { // the tab lives as long as this first call's context
		t.Fatal(err)
	}
	nb := &browser{t: t, ctx: tab, base: b.base, deadline: b.deadline}
	nb.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}), chromedp.Navigate(b.base+"/batches/new"))
	nb.do(chromedp.WaitVisible(chromedp.CSS("#csv")), chromedp.SendKeys(chromedp.CSS("#name"), "NoScript"),
		chromedp.SetUploadFiles(chromedp.CSS("#csv"), []string{goodFile}), chromedp.Click(chromedp.CSS(`button[value=check]`)))
	nb.poll(`location.pathname === "/batches/check" && document.querySelector("#checked-h") !== null &&
		document.querySelector(".notice").textContent.includes("choose the file again")`)
	nb.do(chromedp.SetUploadFiles(chromedp.CSS("#csv"), []string{goodFile}), chromedp.Click(chromedp.CSS(`button[value=create]`)))
	nb.poll(`location.pathname === "/batches/NoScript" && document.querySelector("#live") !== null`)
	nb.do(chromedp.SetValue(chromedp.CSS("#status"), "Queued"), chromedp.Click(chromedp.CSS(".filter button")))
	nb.poll(`location.search === "?status=Queued" && document.querySelector(".pager-info").textContent.includes("of 6 with status Queued")`)
	if got := nb.eval(`String(document.querySelector("#live").hasAttribute("data-refreshed"))`); got != "false" {
		t.Error("the page's script ran with JavaScript disabled")
	}
	nb.do(chromedp.Click(chromedp.CSS(`.head a[href="/batches/NoScript/remove"]`)))
	nb.do(chromedp.WaitVisible(chromedp.CSS(".confirm")), chromedp.Click(chromedp.CSS(`.confirm button.danger`)))
	// This batch is syncing: removed at once, or "being removed" while a
	// worker lets its user go; without a script the page does not change
	// by itself, so the batches page is read again until it is gone.
	nb.poll(`(location.pathname === "/batches" && document.querySelector(".notice") !== null) ||
		(location.pathname === "/batches/NoScript" && location.search === "?done=removing")`)
	for strings.HasSuffix(nb.location(), "done=removing") || nb.eval(`String(document.querySelector('a[href="/batches/NoScript"]') !== null)`) == "true" {
		if time.Now().After(nb.deadline.Add(-5 * time.Second)) {
			t.Fatalf("batch NoScript still listed at %s", nb.location())
		}
		nb.do(chromedp.Navigate(b.base + "/batches"))
		nb.poll(`location.pathname === "/batches" && document.querySelector("main") !== null`)
	}

	// A file over the limit: the form says so, checked in place or sent.
	bigFile := write("big.csv", "EmailAddress,UserName,Password\r\n"+strings.Repeat("someone@new.example,someone,password\r\n", 12<<20/38))
	b.do(chromedp.Navigate(b.base+"/batches/new"), chromedp.WaitVisible(chromedp.CSS("#csv")), chromedp.SendKeys(chromedp.CSS("#name"), "Big"),
		chromedp.SetUploadFiles(chromedp.CSS("#csv"), []string{bigFile}), chromedp.Click(chromedp.CSS(`button[value=check]`)))
	b.poll(`document.querySelector("#check-result").textContent.includes("the file is larger than 10 MiB")`)
	nb.do(chromedp.Navigate(b.base+"/batches/new"), chromedp.WaitVisible(chromedp.CSS("#csv")), chromedp.SendKeys(chromedp.CSS("#name"), "Big"),
		chromedp.SetUploadFiles(chromedp.CSS("#csv"), []string{bigFile}), chromedp.Click(chromedp.CSS(`button[value=create]`)))
	nb.poll(`location.pathname === "/batches/new" && document.querySelector("#check-result") !== null &&
		document.querySelector("#check-result").textContent.includes("the file is larger than 10 MiB")`)

	// Readable on a phone.
	b.do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(b.base+"/batches/new"))
	b.do(chromedp.WaitVisible(chromedp.CSS("#csv")))
	b.shot("phone-new-batch")
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromiumPath), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	// The browser starts with the first action, on a context without a
	// deadline (a deadline would end the browser).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx, base: base, deadline: time.Now().Add(testBudget)}
	if d, ok := t.Deadline(); ok {
		b.deadline = d.Add(-30 * time.Second)
	}
	if os.Getenv(screenshotsEnv) == "1" {
		b.shots = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(b.shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// bounded is the browser's context, ending at the test's deadline.
func (b *browser) bounded() (context.Context, context.CancelFunc) {
	return context.WithDeadline(b.ctx, b.deadline)
}

// do runs the actions (each waits for its element), bounded by the test's
// deadline.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v (at %s)", err, b.location())
	}
}

// poll waits until the JavaScript expression is true in the page. A wait
// that a navigation cut short (the page of a form just sent) starts again
// on the new page.
func (b *browser) poll(expr string) {
	b.t.Helper()
	deadline := b.deadline.Add(-5 * time.Second)
	for {
		ctx, cancel := b.bounded()
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(50*time.Millisecond)))
		cancel()
		if err == nil {
			return
		}
		if strings.Contains(err.Error(), "(-32000)") && time.Now().Before(deadline) { // navigated, or its context gone
			continue
		}
		// The diagnosis has a little time of its own, past the deadline.
		b.deadline = time.Now().Add(10 * time.Second)
		diag, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`JSON.stringify({checkError: window.__checkError || "", stopped: [...document.querySelectorAll("[data-refresh-stopped]")].map(e => e.getAttribute("data-refresh-stopped"))})`))
		b.t.Fatalf("browser: waiting for %s: %v (at %s; %s)\n%s", expr, err, b.location(), diag, b.text("main"))
	}
}

func (b *browser) text(css string) string {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.innerText : ""; })()`, css)))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", css, err)
	}
	return s
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := b.bounded()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("browser: %s: %v", expr, err)
	}
	return s
}

func (b *browser) location() string {
	ctx, cancel := b.bounded()
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// clickLive clicks, with the mouse, the element css finds in a part of
// the page that the live script replaces. chromedp.Click would find the
// node, then ask for its box: a replacement in between fails the click
// ("node does not belong to the document"). Here one evaluation, which
// the page's script cannot interleave with, finds the element, scrolls it
// into view and checks that it is the one under its centre; the mouse
// then clicks there. The live script replaces nothing while a button is
// pressed, and a click that lands on anything else (the part replaced by
// another layout meanwhile) is cancelled and made again.
func (b *browser) clickLive(css string) {
	b.t.Helper()
	for {
		b.poll(fmt.Sprintf(`(() => { const e = document.querySelector(%[1]q); if (!e) return false;
			e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect();
			const x = r.left + r.width / 2, y = r.top + r.height / 2, at = document.elementFromPoint(x, y);
			if (!at || !e.contains(at)) return false;
			window.__clickAt = [x, y]; window.__clickMissed = false;
			if (!window.__clickGuard) {
				window.__clickGuard = true;
				document.addEventListener("click", ev => { if (window.__clickWant && !ev.target.closest(window.__clickWant)) {
					ev.preventDefault(); ev.stopImmediatePropagation(); window.__clickMissed = true; } }, true);
			}
			window.__clickWant = %[1]q; return true; })()`, css))
		x, err := strconv.ParseFloat(b.eval(`String(window.__clickAt[0])`), 64)
		if err != nil {
			b.t.Fatal(err)
		}
		y, err := strconv.ParseFloat(b.eval(`String(window.__clickAt[1])`), 64)
		if err != nil {
			b.t.Fatal(err)
		}
		b.do(chromedp.MouseClickXY(x, y))
		// A click that hit its element navigates (the page's variables
		// are gone, or the evaluation fails on the page going): only a
		// cancelled one says so.
		ctx, cancel := b.bounded()
		missed, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__clickMissed === true`))
		cancel()
		if !missed {
			return
		}
		if time.Now().After(b.deadline) {
			b.t.Fatalf("browser: click on %s: it kept landing elsewhere", css)
		}
	}
}

// action presses a batch's action button and waits for its notice.
func (b *browser) action(name, notice string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`.head form[action$="/%s"] button`, name))))
	b.poll(fmt.Sprintf(`document.querySelector(".notice") && document.querySelector(".notice").textContent.includes(%q)`, notice))
}

// shot saves a screenshot of the page as docs/screenshots/NAME.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	if b.shots == "" {
		return
	}
	ctx, cancel := b.bounded()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
