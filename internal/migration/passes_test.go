package migration_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// UserDetails adds the history of passes when asked, the newest first;
// PassHistory lists them alone; both refuse an unknown user; the JSON
// uses Exchange-style names with the duration as a TimeSpan.
func TestUserPassHistory(t *testing.T) {
	e := newSealEnv(t)
	ctx := context.Background()
	if err := e.svc.StartBatch(ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(time.Second)
	c, err := e.st.Claim(ctx, "w1", "b1", start, time.Minute)
	if err != nil || c == nil {
		t.Fatalf("claim: %v %v", c, err)
	}
	end := start.Add(8*time.Minute + 20*time.Second)
	o := migration.Outcome{Status: migration.UserSynced, Copied: 12, Bytes: 1200, At: end, NextDue: end.Add(time.Hour), FirstSync: true}
	if err := e.st.Finish(ctx, c.User.ID, "w1", o); err != nil {
		t.Fatal(err)
	}
	email := c.User.EmailAddress
	c2 := e.fail(t, "b1") // the other user: a failed pass
	if c2.User.ID == c.User.ID {
		t.Fatal("claimed the same user twice")
	}

	st, err := e.svc.UserStatistics(ctx, email, true, true)
	if err != nil || st.Passes != nil {
		t.Fatalf("UserStatistics adds no history: %+v %v", st, err)
	}
	st, err = e.svc.UserDetails(ctx, email, migration.UserStatsOptions{History: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Passes) != 1 {
		t.Fatalf("history: %+v", st.Passes)
	}
	p := st.Passes[0]
	if p.Kind != migration.PassInitial || p.Worker != "w1" || p.Status != migration.UserSynced || p.ItemsSynced != 12 || p.Bytes != 1200 ||
		p.Duration != migration.TimeSpan(500*time.Second) {
		t.Errorf("pass %+v", p)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"PassHistory":[{`, `"Kind":"initial"`, `"Worker":"w1"`, `"Duration":"00:08:20"`, `"ItemsSynced":12`,
		`"ItemsSkipped":0`, `"BytesTransferred":1200`, `"StartTime":"`, `"EndTime":"`, `"Status":"Synced"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	if strings.Contains(string(b), `"Error":""`) {
		t.Errorf("JSON has an empty Error: %s", b)
	}

	ps, err := e.svc.PassHistory(ctx, c2.User.EmailAddress, 0)
	if err != nil || len(ps) != 1 || ps[0].Status != migration.UserFailed || ps[0].Error == "" {
		t.Errorf("failed user's history: %+v %v", ps, err)
	}
	if _, err := e.svc.PassHistory(ctx, "nobody@x.example", 0); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("PassHistory of an unknown user: %v", err)
	}
	if _, err := e.svc.UserDetails(ctx, "nobody@x.example", migration.UserStatsOptions{History: 1}); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("UserDetails of an unknown user: %v", err)
	}
}
