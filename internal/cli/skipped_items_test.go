package cli

import (
	"encoding/csv"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/report"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// A too-large message and one before --received-after are listed with
// their folder, UID, date, subject, size and reason: by user stats
// --skipped and by batch report --skipped, in text, CSV and JSON.
func TestSkippedItemsListed(t *testing.T) {
	src := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry": "x"}, MasterUser: "admin", MasterPassword: srcSecret})
	tgt := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry@new.example": "y"}, MasterUser: "admin", MasterPassword: tgtSecret})
	rng := rand.New(rand.NewPCG(8, 8))
	bigDate := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	oldDate := time.Date(2019, 7, 8, 9, 10, 11, 0, time.UTC)
	c := testenv.Login(t, src.Addr(), "terry", "x")
	testenv.Seed(t, c, "INBOX",
		testenv.Message{Body: testenv.GenMessage(rng, 2000, testenv.WithSubject("Copied")), InternalDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		testenv.Message{Body: testenv.GenMessage(rng, 90_000, testenv.WithSubject("=Urlaubsfotos, größer als erlaubt"), testenv.WithAttachment()), InternalDate: bigDate},
	)
	testenv.Seed(t, c, "Archiv/2019", testenv.Message{Body: testenv.GenMessage(rng, 1500, testenv.WithSubject("Alte Nachricht")), InternalDate: oldDate})
	c.Close()

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "admin.pw"), []byte(tgtSecret), 0o600)
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte("EmailAddress,UserName,Password\nterry@new.example,terry*admin,"+srcSecret+"\n"), 0o600)
	env := map[string]string{secret.EnvKey: ""}
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	step := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(data, args...), env)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out
	}
	step("endpoint", "new", "old", "--server", src.Host, "--port", strconv.Itoa(src.TLSPort), "--ca-file", src.CA.CAFile, "--skip-verify-connection")
	step("endpoint", "new", "new", "--server", tgt.Host, "--port", strconv.Itoa(tgt.TLSPort), "--ca-file", tgt.CA.CAFile, "--skip-verify-connection",
		"--mailbox-access", "master", "--admin-user", "admin", "--admin-password-file", filepath.Join(dir, "admin.pw"))
	step("batch", "new", "B", "--source", "old", "--target", "new", "--csv", filepath.Join(dir, "users.csv"),
		"--max-message-size", "50KB", "--received-after", "2021-01-01")
	step("batch", "run", "B", "--poll", "50ms")

	type item struct {
		folder  string
		uid     uint32
		date    time.Time
		subject string
		reason  string
	}
	want := []item{
		{"Archiv/2019", 1, oldDate, "Alte Nachricht", "filtered"},
		{"INBOX", 2, bigDate, "=Urlaubsfotos, größer als erlaubt", "too_large"},
	}

	// user stats --skipped, text.
	out := step("user", "stats", "terry@new.example", "--skipped")
	for _, w := range want {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, w.subject) {
				line = l
			}
		}
		for _, part := range []string{w.folder, strconv.Itoa(int(w.uid)), when(w.date), w.reason} {
			if !strings.Contains(line, part) {
				t.Errorf("user stats --skipped: the line of %q lacks %q:\n%s", w.subject, part, out)
			}
		}
	}
	// -o json.
	out = step("user", "stats", "terry@new.example", "--skipped", "-o", "json")
	var st migration.UserStats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("user stats -o json: %v\n%s", err, out)
	}
	if len(st.SkippedItems) != len(want) {
		t.Fatalf("user stats -o json: %d skipped items:\n%s", len(st.SkippedItems), out)
	}
	for i, w := range want {
		got := st.SkippedItems[i]
		if got.Folder != w.folder || got.UID != w.uid || !got.Date.Equal(w.date) || got.Subject != w.subject || got.Reason != w.reason || got.Size == 0 || got.Detail == "" {
			t.Errorf("skipped item %d: %+v, want %+v", i, got, w)
		}
	}
	if out := step("user", "stats", "terry@new.example"); strings.Contains(out, "Alte Nachricht") {
		t.Errorf("user stats lists skipped items unasked:\n%s", out)
	}

	// batch report --skipped: CSV (cells made safe) and JSON.
	out = step("batch", "report", "B", "--skipped")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 3 || strings.Join(recs[0], ",") != strings.Join(report.SkippedColumns, ",") {
		t.Fatalf("batch report --skipped: %v\n%s", err, out)
	}
	for i, w := range want {
		r := recs[i+1]
		subject := w.subject
		if strings.HasPrefix(subject, "=") {
			subject = "'" + subject // not a formula
		}
		if r[0] != "terry@new.example" || r[1] != w.folder || r[2] != strconv.Itoa(int(w.uid)) || r[3] != w.date.Format(time.RFC3339) ||
			r[4] != subject || r[5] == "0" || r[6] != w.reason || r[7] == "" {
			t.Errorf("CSV row %d: %v, want %+v", i+1, r, w)
		}
	}
	file := filepath.Join(dir, "skipped.json")
	if out := step("batch", "report", "B", "--skipped", "--format", "json", "-f", file); !strings.Contains(out, "2 items") {
		t.Errorf("batch report -f: %s", out)
	}
	b, _ := os.ReadFile(file)
	var rows []report.SkippedRow
	if err := json.Unmarshal(b, &rows); err != nil || len(rows) != 2 || rows[0].EmailAddress != "terry@new.example" || rows[1].Subject != want[1].subject {
		t.Errorf("batch report --skipped --format json: %v\n%s", err, b)
	}
	if strings.Contains(string(b)+out, srcSecret) || strings.Contains(string(b)+out, tgtSecret) {
		t.Error("a password in the report")
	}
}
