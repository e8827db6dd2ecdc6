package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/store"
)

var intents = []migration.Intent{migration.IntentRunning, migration.IntentStopped, migration.IntentCompleting,
	migration.IntentRemoving, migration.IntentFailed, migration.IntentCreated}

// standingCase is one user of a table test: a raw standing and lease.
type standingCase struct {
	email string
	st    migration.Standing
	lease lease
}

// standingCases is each of statuses, synced or not, unleased, leased or
// with an expired lease, with each of the due times.
func standingCases(domain string, statuses []migration.UserStatus, dues []time.Time) []standingCase {
	var out []standingCase
	for _, status := range statuses {
		for _, synced := range []bool{false, true} {
			for _, l := range []lease{noLease, liveLease, expiredLease} {
				for d, due := range dues {
					n := len(out)
					out = append(out, standingCase{
						email: fmt.Sprintf("%s-%v-%s-%d-%d@%s", status, synced, l, d, n, domain),
						st:    migration.Standing{Status: status, NextDue: due, Attempts: n % 3, Error: fmt.Sprintf("err %d", n%2), Synced: synced},
						lease: l,
					})
				}
			}
		}
	}
	return out
}

// prepareCases creates batch name with a user per case, in its standing.
func prepareCases(t *testing.T, s store.Store, name string, cases []standingCase, now time.Time) map[string]int64 {
	t.Helper()
	var addrs []string
	for _, c := range cases {
		addrs = append(addrs, c.email)
	}
	mustCreateBatch(t, s, name, "src", "tgt", addrs...)
	ids := make(map[string]int64)
	for e, u := range usersByEmail(t, s, name) {
		ids[e] = u.ID
	}
	rawDB(t, s).batch(func(exec func(string, ...any)) {
		for _, c := range cases {
			setStanding(exec, ids[c.email], c.st, c.lease, now)
		}
	})
	return ids
}

// SetIntent persists, for every user of the batch, exactly what
// migration.Command decides, leased or not; a lease is left as it is. It
// records the intent, clears the batch's error and stamps the first start.
func testSetIntentFollowsCommand(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 10, 10)
	mustPutEndpoint(t, s, "tgt", 10, 10)
	now := baseTime()
	if err := s.SetIntent(ctx, "nope", migration.Transition{Intent: migration.IntentRunning, Now: now}); !errors.Is(err, migration.ErrNotFound) {
		t.Errorf("SetIntent of an unknown batch: %v, want ErrNotFound", err)
	}
	// One batch, its users put back in their standings for each intent.
	const name = "T"
	// Command reads of the due time only whether there is one.
	cases := standingCases("x.example", migration.UserStatuses, []time.Time{{}, now.Add(-time.Hour)})
	ids := prepareCases(t, s, name, cases, now)
	for _, intent := range intents {
		t.Run(string(intent), func(t *testing.T) {
			rawDB(t, s).batch(func(exec func(string, ...any)) {
				exec(`UPDATE batch SET intent = 'created', error = 'an old error', started_at = NULL WHERE name = ?`, name)
				for _, c := range cases {
					setStanding(exec, ids[c.email], c.st, c.lease, now)
				}
			})
			before := usersByEmail(t, s, name)
			at := now.Add(time.Second) // the intent's time, after the standings' "now"
			mustSetIntent(t, s, name, intent, at)
			after := usersByEmail(t, s, name)
			for _, c := range cases {
				old := standing(before[c.email], at)
				prepared := c.st
				prepared.Leased = c.lease == liveLease
				if !sameStanding(old, prepared) {
					t.Fatalf("%s: prepared %s, store shows %s", c.email, fmtStanding(prepared), fmtStanding(old))
				}
				want := migration.Command(intent, old, at)
				got := standing(after[c.email], at)
				if !sameStanding(got, want) {
					t.Errorf("%s %s: %s → %s, want %s", intent, c.email, fmtStanding(old), fmtStanding(got), fmtStanding(want))
				}
				bp, ap := before[c.email].Pass, after[c.email].Pass
				if (bp == nil) != (ap == nil) || bp != nil && (bp.Worker != ap.Worker || !bp.LeaseExpiry.Equal(ap.LeaseExpiry) || bp.Kind != ap.Kind) {
					t.Errorf("%s %s: the lease changed: %+v → %+v", intent, c.email, bp, ap)
				}
			}
			got, statuses, err := s.Batch(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if got.Intent != intent || got.Error != "" {
				t.Errorf("batch: intent %q error %q, want %q and no error", got.Intent, got.Error, intent)
			}
			if len(statuses) != len(cases) {
				t.Errorf("batch lists %d user statuses, want %d", len(statuses), len(cases))
			}
			if intent == migration.IntentRunning {
				if !got.StartedAt.Equal(at) {
					t.Errorf("started at %v, want %v", got.StartedAt, at)
				}
				// A second start keeps the first start's time.
				mustSetIntent(t, s, name, intent, at.Add(time.Hour))
				if again, _, _ := s.Batch(ctx, name); !again.StartedAt.Equal(at) {
					t.Errorf("restarted: started at %v, want the first start %v", again.StartedAt, at)
				}
			} else if !got.StartedAt.IsZero() {
				t.Errorf("%s: started at %v, want none", intent, got.StartedAt)
			}
		})
	}
}

// Claim leases exactly the users migration.Due says may run, with the kind
// it says, in due order (next due time, then id), and shows them in that
// pass; a batch filter limits it to that batch.
func testClaimFollowsDue(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "src", 1000, 1000)
	mustPutEndpoint(t, s, "tgt", 1000, 1000)
	now := baseTime()
	ttl := 10 * time.Minute
	for _, intent := range intents {
		t.Run(string(intent), func(t *testing.T) {
			name := "D-" + string(intent)
			// Due does not read the status; two suffice. Due exactly now is
			// due.
			cases := standingCases(string(intent)+".example", []migration.UserStatus{migration.UserQueued, migration.UserSynced},
				[]time.Time{{}, now.Add(-time.Hour), now, now.Add(time.Hour)})
			ids := prepareCases(t, s, name, cases, now)
			// The batch's intent, set raw: SetIntent would move the users.
			rawDB(t, s).batch(func(exec func(string, ...any)) {
				exec(`UPDATE batch SET intent = ? WHERE name = ?`, string(intent), name)
			})
			type want struct {
				id   int64
				due  time.Time
				kind migration.PassKind
			}
			var wants []want
			kinds := make(map[int64]migration.PassKind)
			for _, c := range cases {
				st := c.st
				st.Leased = c.lease == liveLease
				if kind, ok := migration.Due(intent, st, now); ok {
					wants = append(wants, want{ids[c.email], st.NextDue, kind})
					kinds[ids[c.email]] = kind
				}
			}
			slices.SortFunc(wants, func(a, b want) int {
				if c := a.due.Compare(b.due); c != 0 {
					return c
				}
				return int(a.id - b.id)
			})
			if c, err := s.Claim(ctx, "other", "no such batch", now, ttl); err != nil || c != nil {
				t.Errorf("claim in another batch: %+v, %v", c, err)
			}
			var got []int64
			for range len(cases) + 1 {
				c, err := s.Claim(ctx, "w", name, now, ttl)
				if err != nil {
					t.Fatal(err)
				}
				if c == nil {
					break
				}
				got = append(got, c.User.ID)
				kind, ok := kinds[c.User.ID]
				if !ok {
					t.Errorf("claimed user %s, which is not due", c.User.EmailAddress)
					continue
				}
				if c.Kind != kind || c.User.Status != kind.Status() {
					t.Errorf("%s: claimed as %s showing %s, want %s showing %s", c.User.EmailAddress, c.Kind, c.User.Status, kind, kind.Status())
				}
				if c.Batch.Name != name || c.Batch.Intent != intent || c.Source.Name != "src" || c.Target.Name != "tgt" ||
					c.Source.MaxConcurrentMigrations != 1000 {
					t.Errorf("claim's batch/endpoints: %+v %+v %+v", c.Batch, c.Source, c.Target)
				}
				p := c.User.Pass
				if p == nil || p.Worker != "w" || p.Kind != kind || !p.Started.Equal(now) || !p.LeaseExpiry.Equal(now.Add(ttl)) ||
					p.Items != 0 || p.Bytes != 0 || p.ItemsTotal != 0 || p.Folder != "" || !p.At.IsZero() {
					t.Errorf("%s: pass %+v", c.User.EmailAddress, p)
				}
			}
			var wantIDs []int64
			for _, w := range wants {
				wantIDs = append(wantIDs, w.id)
			}
			if !slices.Equal(got, wantIDs) {
				t.Errorf("claimed %v, want %v (due order)", got, wantIDs)
			}
			// Claimed users show their pass to any reader.
			for _, u := range usersByEmail(t, s, name) {
				if kind, ok := kinds[u.ID]; ok && (u.Pass == nil || u.Pass.Worker != "w" || u.Status != kind.Status()) {
					t.Errorf("%s after claim: %s %+v", u.EmailAddress, u.Status, u.Pass)
				}
			}
		})
	}
}

// Claims count every live lease against the endpoints' limits: initial
// passes against MaxConcurrentMigrations, incremental and final ones
// against MaxConcurrentIncrementalSyncs, on the source and the target
// endpoint (once when they are the same), over batches; an expired lease
// frees its slot.
func testClaimEndpointLimits(t *testing.T, dsn string) {
	ctx := context.Background()
	s := openStore(t, dsn)
	mustPutEndpoint(t, s, "shared", 2, 1)
	mustPutEndpoint(t, s, "wide", 100, 100)
	mustCreateBatch(t, s, "A", "shared", "shared", emails("a", "a.example", 4)...) // source is target
	mustCreateBatch(t, s, "B", "wide", "shared", emails("b", "b.example", 4)...)   // the target's limits
	now := baseTime()
	ttl := time.Hour
	none := func(owner, batch string, at time.Time, why string) {
		t.Helper()
		c, err := s.Claim(ctx, owner, batch, at, ttl)
		if err != nil {
			t.Fatal(err)
		}
		if c != nil {
			t.Fatalf("%s: claimed %s as %s", why, c.User.EmailAddress, c.Kind)
		}
	}
	is := func(c *migration.Claim, email string, kind migration.PassKind) {
		t.Helper()
		if c.User.EmailAddress != email || c.Kind != kind || c.User.Status != kind.Status() {
			t.Fatalf("claimed %s as %s showing %s, want %s as %s", c.User.EmailAddress, c.Kind, c.User.Status, email, kind)
		}
	}
	mustSetIntent(t, s, "A", migration.IntentRunning, now)
	mustSetIntent(t, s, "B", migration.IntentRunning, now)
	is(mustClaim(t, s, "w1", "A", now, ttl), "a0@a.example", migration.PassInitial)
	is(mustClaim(t, s, "w2", "B", now, ttl), "b0@b.example", migration.PassInitial) // a0 counts once
	none("w3", "", now, "a third initial pass with MaxConcurrentMigrations 2")

	// a0 ends synced and due at once: its incremental pass has a slot of
	// its own; the freed initial slot is taken again, then all are full.
	a0 := mustUser(t, s, "a0@a.example")
	if err := s.Finish(ctx, a0.ID, "w1", migration.Outcome{Status: migration.UserSynced, At: now, NextDue: now, FirstSync: true}); err != nil {
		t.Fatal(err)
	}
	is(mustClaim(t, s, "w3", "", now, ttl), "a0@a.example", migration.PassIncremental)
	is(mustClaim(t, s, "w4", "", now, ttl), "a1@a.example", migration.PassInitial)
	none("w5", "", now, "every slot taken")

	// A final pass counts against the incremental slot.
	mustSetIntent(t, s, "B", migration.IntentCompleting, now)
	none("w5", "B", now, "a final pass beside an incremental one, limit 1")
	if err := s.Finish(ctx, a0.ID, "w3", migration.Outcome{Status: migration.UserSynced, At: now, NextDue: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	is(mustClaim(t, s, "w5", "B", now, ttl), "b1@b.example", migration.PassFinal)
	none("w6", "B", now, "a second final pass, limit 1")

	// The final pass's worker dies; the others heartbeat.
	later := now.Add(ttl + time.Second)
	for _, h := range []struct{ email, owner string }{{"b0@b.example", "w2"}, {"a1@a.example", "w4"}} {
		if _, err := s.Heartbeat(ctx, mustUser(t, s, h.email).ID, h.owner, later.Add(ttl), migration.Progress{At: later}); err != nil {
			t.Fatal(err)
		}
	}
	is(mustClaim(t, s, "w6", "B", later, ttl), "b1@b.example", migration.PassFinal)
	none("w7", "", later, "every slot taken after the reclaim")
}
