package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/store"
)

// Claims under contention: workers, each with its own connection to the
// database (store.Open of the same DSN, as separate processes), claim in a
// loop and end their passes at random. At every instant no endpoint has
// more passes of a kind than its limit and no user is held twice; the
// batches are completed half-way and every user ends Completed.
//
// The test's ledger of live claims is a sub-interval of the database's
// (a claim enters it when Claim has returned, leaves before Finish is
// called), so it never sees more than the database holds.
func testClaimConcurrency(t *testing.T, dsn string) {
	const (
		workers    = 8
		perBatch   = 10
		passesHalf = 60 // passes before the batches are completed
	)
	ctx := context.Background()
	s := openStore(t, dsn)
	// shared is both sides of A and the target of B; B's source is wide.
	limits := map[string]*migration.Endpoint{"shared": endpoint("shared", 2, 1), "wide": endpoint("wide", 3, 2)}
	for _, e := range limits {
		if err := s.PutEndpoint(ctx, e, true); err != nil {
			t.Fatal(err)
		}
	}
	mustCreateBatch(t, s, "A", "shared", "shared", emails("a", "a.example", perBatch)...)
	mustCreateBatch(t, s, "B", "wide", "shared", emails("b", "b.example", perBatch)...)
	t0 := baseTime()
	mustSetIntent(t, s, "A", migration.IntentRunning, t0)
	mustSetIntent(t, s, "B", migration.IntentRunning, t0)

	// The clock: every call takes the next microsecond, so that times
	// only move forward; leases outlive the test.
	var tick atomic.Int64
	clock := func() time.Time { return t0.Add(time.Duration(tick.Add(1)) * time.Microsecond) }
	const ttl = 24 * time.Hour

	var (
		mu     sync.Mutex
		live   = map[string]map[migration.PassKind]int{} // endpoint → slot → claims
		peak   = map[string]map[migration.PassKind]int{}
		holder = map[int64]string{} // user → owner
		passes int
		byKind = map[migration.PassKind]int{}
		done   = map[int64]bool{}
	)
	endpoints := func(c *migration.Claim) []string {
		if c.Source.Name == c.Target.Name {
			return []string{c.Source.Name}
		}
		return []string{c.Source.Name, c.Target.Name}
	}
	enter := func(owner string, c *migration.Claim) error {
		mu.Lock()
		defer mu.Unlock()
		if h, ok := holder[c.User.ID]; ok {
			return fmt.Errorf("%s claimed %s, which %s holds", owner, c.User.EmailAddress, h)
		}
		if done[c.User.ID] {
			return fmt.Errorf("%s claimed %s, which is Completed", owner, c.User.EmailAddress)
		}
		holder[c.User.ID] = owner
		slot := c.Kind.Slot()
		for _, e := range endpoints(c) {
			if live[e] == nil {
				live[e], peak[e] = map[migration.PassKind]int{}, map[migration.PassKind]int{}
			}
			live[e][slot]++
			peak[e][slot] = max(peak[e][slot], live[e][slot])
			if n, limit := live[e][slot], limits[e].Limit(slot); n > limit {
				return fmt.Errorf("%s holds %d %s passes, limit %d", e, n, slot, limit)
			}
		}
		byKind[c.Kind]++
		return nil
	}
	leave := func(c *migration.Claim, completed bool) (half bool) {
		mu.Lock()
		defer mu.Unlock()
		delete(holder, c.User.ID)
		for _, e := range endpoints(c) {
			live[e][c.Kind.Slot()]--
		}
		passes++
		if completed {
			done[c.User.ID] = true
		}
		return passes == passesHalf
	}
	allDone := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(done) == 2*perBatch
	}

	stores := make([]store.Store, workers)
	for i := range stores {
		stores[i] = openStore(t, dsn)
	}
	deadline := time.Now().Add(2 * time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var stop atomic.Bool // set at the first error: the others stop too
	var claims, empty atomic.Int64
	fail := func(err error) {
		stop.Store(true)
		errs <- err
	}
	// Half-way, a worker completes the batches while passes run: every
	// user not completed is due for its final pass, failed ones too.
	completeBatches := func(ws store.Store) bool {
		for _, b := range []string{"A", "B"} {
			if err := ws.SetIntent(ctx, b, migration.Transition{Intent: migration.IntentCompleting, Now: clock()}); err != nil {
				fail(fmt.Errorf("complete %s: %w", b, err))
				return false
			}
		}
		return true
	}
	for i, ws := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("worker-%d", i)
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			for !allDone() && !stop.Load() {
				if time.Now().After(deadline) {
					fail(fmt.Errorf("%s: not every user completed in time", owner))
					return
				}
				claims.Add(1)
				began := time.Now()
				c, err := ws.Claim(ctx, owner, "", clock(), ttl)
				if err != nil {
					fail(fmt.Errorf("%s: claim (after %v): %w", owner, time.Since(began).Round(time.Millisecond), err))
					return
				}
				if c == nil {
					empty.Add(1)
					// Nothing fits now: poll again soon, as a scheduler
					// does (not a synchronisation: the claims are). A tight
					// loop of 8 writers would starve SQLite's others past
					// its busy timeout (its busy handler is not fair).
					time.Sleep(time.Duration(1+rng.IntN(3)) * time.Millisecond)
					continue
				}
				if err := enter(owner, c); err != nil {
					fail(err)
					return
				}
				// The pass: a few heartbeats.
				for range rng.IntN(3) {
					if _, err := ws.Heartbeat(ctx, c.User.ID, owner, clock().Add(ttl), migration.Progress{Items: 1, At: clock()}); err != nil {
						fail(fmt.Errorf("%s: heartbeat of %s: %w", owner, c.User.EmailAddress, err))
						return
					}
				}
				at := clock()
				var o migration.Outcome
				switch r := rng.IntN(10); {
				case c.Kind == migration.PassFinal && r < 8:
					o = migration.Outcome{Status: migration.UserCompleted, At: at, FirstSync: true}
				case r < 5:
					o = migration.EndPass(migration.PassEnd{Kind: c.Kind, Interval: time.Microsecond}, migration.Outcome{At: at, Copied: 3})
				case r < 7:
					o = migration.EndPass(migration.PassEnd{Kind: c.Kind, Err: fmt.Errorf("flaky"), Transient: true, RetryAt: at, MaxAttempts: 100},
						migration.Outcome{At: at, Attempts: c.User.Attempts})
				case r < 8:
					o = migration.EndPass(migration.PassEnd{Kind: c.Kind, Interrupted: context.Canceled}, migration.Outcome{At: at})
				case r < 9:
					// A graceful shutdown: the lease is given up.
					half := leave(c, false)
					if err := ws.ReleaseAll(ctx, owner); err != nil {
						fail(fmt.Errorf("%s: release: %w", owner, err))
						return
					}
					if half && !completeBatches(ws) {
						return
					}
					continue
				case c.Kind == migration.PassFinal:
					// A final pass that fails for good would never complete.
					o = migration.EndPass(migration.PassEnd{Kind: c.Kind, Err: fmt.Errorf("flaky"), Transient: true, RetryAt: at, MaxAttempts: 100},
						migration.Outcome{At: at, Attempts: c.User.Attempts})
				default:
					o = migration.EndPass(migration.PassEnd{Kind: c.Kind, Err: fmt.Errorf("broken")}, migration.Outcome{At: at})
				}
				completed := o.Status == migration.UserCompleted || o.Status == migration.UserCompletedWithWarnings
				half := leave(c, completed && c.Kind == migration.PassFinal)
				if err := ws.Finish(ctx, c.User.ID, owner, o); err != nil {
					fail(fmt.Errorf("%s: finish %s: %w", owner, c.User.EmailAddress, err))
					return
				}
				if half && !completeBatches(ws) {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for _, b := range []string{"A", "B"} {
		for _, u := range usersByEmail(t, s, b) {
			if u.Status != migration.UserCompleted || u.Pass != nil {
				t.Errorf("%s: %s, pass %+v", u.EmailAddress, u.Status, u.Pass)
			}
		}
	}
	t.Logf("%d passes (%v), %d claims (%d found nothing); peak live claims %v", passes, byKind, claims.Load(), empty.Load(), peak)
}
