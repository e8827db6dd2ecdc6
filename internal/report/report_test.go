package report

import (
	"bytes"
	"encoding/csv"
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
