package web_test

import (
	"context"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/server"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// A user's page shows the history of its passes, the newest first: none
// before the first sync, then the real initial pass with its status,
// items and worker.
func TestUserPageHistoryOfPasses(t *testing.T) {
	const adminPW = "mail-admin-pw"
	src := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry": "x"}, MasterUser: "mailadmin", MasterPassword: adminPW})
	tgt := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry@new.example": "y"}, MasterUser: "mailadmin", MasterPassword: adminPW})
	rng := rand.New(rand.NewPCG(4, 4))
	c := testenv.Login(t, src.Addr(), "terry", "x")
	testenv.Seed(t, c, "INBOX",
		testenv.Message{Body: testenv.GenMessage(rng, 2000), InternalDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		testenv.Message{Body: testenv.GenMessage(rng, 2500), InternalDate: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		testenv.Message{Body: testenv.GenMessage(rng, 3000), InternalDate: time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC)},
	)
	c.Close()

	e := newEnv(t)
	e.login(t)
	ctx := context.Background()
	for _, p := range []migration.EndpointParams{
		{Endpoint: migration.Endpoint{Name: "old-imap", Server: src.Host, Port: src.TLSPort, Security: imapconn.SecuritySSL, CAFile: src.CA.CAFile}},
		{Endpoint: migration.Endpoint{Name: "new-imap", Server: tgt.Host, Port: tgt.TLSPort, Security: imapconn.SecuritySSL, CAFile: tgt.CA.CAFile,
			MailboxAccess: migration.AccessMaster, AdminUser: "mailadmin"}, AdminPassword: adminPW},
	} {
		p.SkipVerify = true
		if _, err := e.srv.Service.NewEndpoint(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.srv.Service.NewBatch(ctx, migration.BatchParams{Name: "H", Source: "old-imap", Target: "new-imap",
		CSV: strings.NewReader("EmailAddress,UserName,Password\r\nterry@new.example,terry*mailadmin," + adminPW + "\r\n")}); err != nil {
		t.Fatal(err)
	}
	const page = "/users/terry@new.example"
	if code, body, _ := e.get(t, page); code != 200 || !strings.Contains(body, "History of passes") || !strings.Contains(body, "No pass has ended yet") {
		t.Fatalf("the user's page before any pass: %d", code)
	}

	if err := e.srv.Service.StartBatch(ctx, "H"); err != nil {
		t.Fatal(err)
	}
	sched := e.srv.Scheduler(server.WorkerOptions{Name: "web-test", Workers: 1, LeaseTTL: 30 * time.Second, Poll: 20 * time.Millisecond,
		Progress: time.Second, ParallelFolders: 1, RetryBase: time.Second}, "H", nil)
	synced := func() bool {
		u, err := e.srv.Service.User(ctx, "terry@new.example")
		return err != nil || (u.Pass == nil && !u.FirstSync.IsZero()) || u.Status == migration.UserFailed
	}
	if err := sched.Drain(ctx, synced); err != nil {
		t.Fatal(err)
	}
	if u, _ := e.srv.Service.User(ctx, "terry@new.example"); u.Status != migration.UserSynced {
		t.Fatalf("after the sync the user is %s (%s)", u.Status, u.Error)
	}

	code, body, _ := e.get(t, page)
	if code != 200 || strings.Contains(body, "No pass has ended yet") {
		t.Fatalf("the user's page after a pass: %d", code)
	}
	i := strings.Index(body, `id="passes-h"`)
	if i < 0 {
		t.Fatal("no history of passes on the user's page")
	}
	section := body[i:]
	section = section[:strings.Index(section, "</section>")]
	rows := regexp.MustCompile(`(?s)<tbody>.*?</tbody>`).FindString(section)
	if n := strings.Count(rows, "<tr>"); n != 1 {
		t.Fatalf("%d passes shown, want 1:\n%s", n, section)
	}
	for _, want := range []string{"<td>initial</td>", ">Synced<", `<td class="num">3</td>`, "<td>web-test#1</td>"} {
		if !strings.Contains(rows, want) {
			t.Errorf("the pass's row lacks %q:\n%s", want, rows)
		}
	}
	if !strings.Contains(section, `<th scope="col">Ended</th>`) || !strings.Contains(section, `class="table-wrap"`) {
		t.Errorf("the history is not a table like the folders':\n%s", section)
	}
}
