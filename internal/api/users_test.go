package api

import (
	"context"
	"encoding/csv"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/report"
	"github.com/imapmigrate/imapmigrate/internal/server"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// A batch started through the API syncs (a worker runs its passes until
// every user is synced); its users' statistics, folders and skipped items
// are then in the API, and a new password retries a user.
func TestUsers(t *testing.T) {
	onEngines(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(1, 2))
		c := e.src.Client(t, "terry", terrySecret)
		testenv.Seed(t, c, "INBOX", testenv.Message{Body: testenv.GenMessage(rng, 2000, testenv.WithSubject("Hello"))},
			testenv.Message{Body: testenv.GenMessage(rng, 3000)})
		testenv.Seed(t, c, "Archive/2024", testenv.Message{Body: testenv.GenMessage(rng, 50_000, testenv.WithSubject("Too big"))})
		c.Close()
		e.endpoints()
		e.do("POST", "/api/v1/batches", map[string]any{"Name": "b1", "SourceEndpoint": "old", "TargetEndpoint": "new", "CSVData": usersCSV,
			"MaxMessageSize": 10_000, "AutoStart": true}).want(t, http.StatusCreated, "b1")
		e.drain(ctx, "b1")

		var st struct {
			migration.User
			Folders      []migration.FolderStat  `json:"FolderDetails"`
			SkippedItems []migration.SkippedItem `json:"SkippedItems"`
			PassHistory  []migration.PassRecord  `json:"PassHistory"`
		}
		e.do("GET", "/api/v1/users/terry@new.example", nil).want(t, http.StatusOK, "stats").JSON(t, &st)
		if st.Status != migration.UserSynced || st.ItemsSynced != 2 || st.ItemsSkipped != 1 || st.Batch != "b1" {
			t.Errorf("terry: %+v", st.User)
		}
		var folders []string
		for _, f := range st.Folders {
			folders = append(folders, f.Source)
		}
		if !slices.Contains(folders, "INBOX") || !slices.Contains(folders, "Archive/2024") {
			t.Errorf("folders: %+v", st.Folders)
		}
		if len(st.SkippedItems) != 1 || st.SkippedItems[0].Subject != "Too big" || st.SkippedItems[0].Reason == "" {
			t.Errorf("skipped items: %+v", st.SkippedItems)
		}
		// The history of passes: terry's passes, the newest first, the
		// last one leaving it Synced with the items it copied.
		if len(st.PassHistory) == 0 {
			t.Fatalf("no pass history: %+v", st)
		}
		var synced int64
		for i, p := range st.PassHistory {
			synced += p.ItemsSynced
			if p.Batch != "b1" || p.Worker == "" || p.Ended.IsZero() || i > 0 && p.Ended.After(st.PassHistory[i-1].Ended) {
				t.Errorf("pass %d: %+v", i, p)
			}
		}
		if last := st.PassHistory[0]; last.Status != migration.UserSynced || st.PassHistory[len(st.PassHistory)-1].Kind != migration.PassInitial || synced != 2 {
			t.Errorf("pass history (%d synced): %+v", synced, st.PassHistory)
		}
		e.do("GET", "/api/v1/users/nobody@new.example", nil).want(t, http.StatusNotFound, "unknown user")

		a := e.do("GET", "/api/v1/batches/b1/report?skipped=true", nil).want(t, http.StatusOK, "skipped report")
		rows, err := csv.NewReader(strings.NewReader(string(a.Body))).ReadAll()
		if err != nil || len(rows) != 2 || rows[1][0] != "terry@new.example" || rows[1][4] != "Too big" {
			t.Errorf("skipped report: %v %v", rows, err)
		}
		var users []report.Row
		e.do("GET", "/api/v1/batches/b1/report?format=json", nil).want(t, http.StatusOK, "report").JSON(t, &users)
		if len(users) != 2 || users[0].Status != "Synced" || users[0].ItemsSynced != 2 || users[0].SkippedBy["too_large"] != 1 {
			t.Errorf("report: %+v", users)
		}
		var b1 migration.Batch
		e.do("GET", "/api/v1/batches/b1", nil).want(t, http.StatusOK, "batch").JSON(t, &b1)
		if b1.Status != migration.BatchSynced || b1.SyncedCount != 2 || b1.PercentComplete != 100 || b1.LastSynced.IsZero() {
			t.Errorf("b1 synced: %+v", b1)
		}

		// PATCH: new passwords, never shown.
		var u migration.User
		e.do("PATCH", "/api/v1/users/terry@new.example", map[string]any{"Password": newSecret}).want(t, http.StatusOK, "new password").JSON(t, &u)
		if u.EmailAddress != "terry@new.example" {
			t.Errorf("patched: %+v", u)
		}
		b := e.do("PATCH", "/api/v1/users/terry@new.example", map[string]any{}).want(t, http.StatusUnprocessableEntity, "no password").Error(t)
		if got := fieldsOf(b); !slices.Equal(got, []string{"Password"}) {
			t.Errorf("no password: %+v", b)
		}
		b = e.do("PATCH", "/api/v1/users/terry@new.example", map[string]any{"TargetPassword": newSecret}).
			want(t, http.StatusUnprocessableEntity, "a target password a master target does not use").Error(t)
		if got := fieldsOf(b); !slices.Equal(got, []string{"TargetPassword"}) {
			t.Errorf("target password: %+v", b)
		}
		e.do("PATCH", "/api/v1/users/nobody@new.example", map[string]any{"Password": newSecret}).want(t, http.StatusNotFound, "patch unknown")

		var gone userRemoved
		e.do("DELETE", "/api/v1/users/kim@new.example", nil).want(t, http.StatusOK, "remove").JSON(t, &gone)
		if gone != (userRemoved{EmailAddress: "kim@new.example", Batch: "b1", Result: "removed"}) {
			t.Errorf("removed: %+v", gone)
		}
		e.do("DELETE", "/api/v1/users/kim@new.example", nil).want(t, http.StatusNotFound, "remove again")
		var page migration.UsersPage
		e.do("GET", "/api/v1/batches/b1/users", nil).JSON(t, &page)
		if page.Total != 1 {
			t.Errorf("after the removal: %+v", page)
		}
	})
}

// drain runs a worker on batch until each of its users is synced or
// failed.
func (e *env) drain(ctx context.Context, batch string) {
	e.t.Helper()
	sched := e.srv.Scheduler(server.WorkerOptions{Name: "w1", Workers: 2}, batch, nil)
	idle := func() bool {
		us, err := e.srv.Service.Users(ctx, batch, "")
		if err != nil {
			e.t.Error(err)
			return true
		}
		for _, u := range us {
			if u.Status != migration.UserSynced && u.Status != migration.UserFailed {
				return false
			}
		}
		return true
	}
	if err := sched.Drain(ctx, idle); err != nil {
		e.t.Fatal(err)
	}
}
