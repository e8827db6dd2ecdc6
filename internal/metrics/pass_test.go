package metrics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/server"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// Real passes, run as serve runs them (server.Open, Server.Scheduler),
// between two in-process IMAP servers: the messages and bytes copied are
// those the store recorded, each pass's duration is observed, the
// oversized message is counted as skipped, the claim of a dead worker's
// expired lease is a takeover, and the users by status are the store's.
func TestRealPass(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	ctx := context.Background()
	const srcMaster, tgtMaster = "src-master-pw", "tgt-master-pw"
	users := []string{"terry", "robin", "sam"}
	srcUsers, tgtUsers := map[string]string{}, map[string]string{}
	for _, u := range users {
		srcUsers[u], tgtUsers[u+"@new.example"] = "pw-"+u, "pw-"+u
	}
	src := testenv.StartMemServer(t, testenv.MemServerOptions{Users: srcUsers, MasterUser: "admin", MasterPassword: srcMaster})
	tgt := testenv.StartMemServer(t, testenv.MemServerOptions{Users: tgtUsers, MasterUser: "admin", MasterPassword: tgtMaster})
	rng := rand.New(rand.NewPCG(9, 9))
	const maxSize = 20000
	seeded := 0
	for i, u := range users {
		c := src.Client(t, u, "pw-"+u)
		for _, folder := range []string{"INBOX", "Archive/2025"} {
			var msgs []testenv.Message
			for j := 0; j < 4+i; j++ {
				msgs = append(msgs, testenv.Message{Body: testenv.GenMessage(rng, 500+rng.IntN(4000)), Flags: []imap.Flag{imap.FlagSeen},
					InternalDate: time.Date(2025, 6, 1, 0, 0, j, 0, time.UTC)})
			}
			seeded += len(msgs)
			testenv.Seed(t, c, folder, msgs...)
		}
		if u == "terry" { // over the batch's MaxMessageSize: skipped
			testenv.Seed(t, c, "INBOX", testenv.Message{Body: testenv.GenMessage(rng, 2*maxSize), InternalDate: time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)})
		}
		c.Close()
	}

	srv, err := server.Open(ctx, server.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	svc := srv.Service
	if _, err := svc.NewEndpoint(ctx, migration.EndpointParams{Endpoint: migration.Endpoint{Name: "old", Server: src.Host, Port: src.TLSPort,
		Security: imapconn.SecuritySSL, CAFile: src.CA.CAFile}, SkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.NewEndpoint(ctx, migration.EndpointParams{Endpoint: migration.Endpoint{Name: "new", Server: tgt.Host, Port: tgt.TLSPort,
		Security: imapconn.SecuritySSL, CAFile: tgt.CA.CAFile, MailboxAccess: migration.AccessMaster, AdminUser: "admin"},
		AdminPassword: tgtMaster, SkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("EmailAddress,UserName,Password\n")
	for _, u := range users {
		fmt.Fprintf(&csv, "%s@new.example,%s*admin,%s\n", u, u, srcMaster)
	}
	if _, _, err := svc.NewBatch(ctx, migration.BatchParams{Name: "B", Source: "old", Target: "new", CSV: strings.NewReader(csv.String()),
		MaxMessageSize: maxSize, AutoStart: true}); err != nil {
		t.Fatal(err)
	}
	// A worker that died holding one user's lease, expired a minute ago.
	if c, err := srv.Store.Claim(ctx, "dead/1#1", "B", time.Now(), -time.Minute); err != nil || c == nil {
		t.Fatalf("the dead worker's claim: %v %v", c, err)
	}

	sched := srv.Scheduler(server.WorkerOptions{Name: "w1", Workers: 2, Poll: 10 * time.Millisecond}, "B", nil)
	idle := func() bool {
		us, err := svc.Users(ctx, "B", "")
		if err != nil {
			t.Error(err)
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
		t.Fatal(err)
	}

	reg := srv.Metrics.Registry()
	us, err := svc.Users(ctx, "B", "")
	if err != nil {
		t.Fatal(err)
	}
	var items, bytes int64
	byStatus := map[migration.UserStatus]int{}
	for _, u := range us {
		if u.Status != migration.UserSynced {
			t.Errorf("%s: %s %s", u.EmailAddress, u.Status, u.Error)
		}
		items += int64(u.ItemsSynced)
		bytes += u.BytesSynced
		byStatus[u.Status]++
	}
	if items != int64(seeded) {
		t.Errorf("the store says %d messages synced, %d seeded", items, seeded)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"imapmigrate_copied_messages_total", map[string]string{"batch": "B"}, float64(items)},
		{"imapmigrate_copied_bytes_total", map[string]string{"batch": "B"}, float64(bytes)},
		{"imapmigrate_skipped_items_total", map[string]string{"batch": "B", "reason": "too_large"}, 1},
		{"imapmigrate_claims_total", map[string]string{"batch": "B", "kind": "initial"}, float64(len(users))},
		{"imapmigrate_lease_takeovers_total", map[string]string{"batch": "B"}, 1},
		{"imapmigrate_passes_total", map[string]string{"batch": "B", "kind": "initial", "status": "Synced"}, float64(len(users))},
		{"imapmigrate_passes_running", map[string]string{"kind": "initial"}, 0},
		{"imapmigrate_users_scrape_error", nil, 0},
	} {
		if got := value(t, reg, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %g, want %g", c.name, c.labels, got, c.want)
		}
	}
	if bytes == 0 {
		t.Error("no bytes synced")
	}
	for _, s := range []migration.UserStatus{migration.UserQueued, migration.UserSyncing, migration.UserSynced, migration.UserFailed} {
		if got := value(t, reg, "imapmigrate_users", map[string]string{"batch": "B", "status": string(s)}); got != float64(byStatus[s]) {
			t.Errorf("imapmigrate_users{status=%q} = %g, the store has %d", s, got, byStatus[s])
		}
	}
	n, sum := histogram(t, reg, "imapmigrate_pass_duration_seconds", map[string]string{"kind": "initial"})
	if n != uint64(len(users)) || sum <= 0 {
		t.Errorf("initial pass durations: %d observed, sum %gs; want %d, > 0", n, sum, len(users))
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// value is the value of the counter or gauge name with exactly labels.
func value(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	for _, m := range find(t, g, name, labels) {
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		}
	}
	t.Errorf("no %s%v", name, labels)
	return -1
}

func histogram(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) (uint64, float64) {
	t.Helper()
	for _, m := range find(t, g, name, labels) {
		return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
	}
	t.Errorf("no %s%v", name, labels)
	return 0, 0
}

func find(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) []*dto.Metric {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []*dto.Metric
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			out = append(out, m)
		}
	}
	return out
}
