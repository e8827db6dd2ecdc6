package scale

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/scheduler"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

var (
	flagSchedulers = flag.Int("scale.schedulers", 4, "schedulers draining the batch, each with its own store.Open")
	flagWorkers    = flag.Int("scale.workers", 8, "workers (passes at once) per scheduler")
	flagLimit      = flag.Int("scale.limit", 300, "the endpoints' MaxConcurrentMigrations and MaxConcurrentIncrementalSyncs")
	flagDrainMax   = flag.Duration("scale.drainmax", 0, "stop a drain after this long, reporting claims/s so far and the share drained (0: drain every user)")
)

func TestMain(m *testing.M) { os.Exit(testenv.PostgresMain(m)) }

// BenchmarkScale runs one scenario per store and batch size (see the
// package documentation) and reports its figures as metrics; ns/op is the
// whole scenario, setup included, and means little. Run it with
// -benchtime 1x: one scenario per run, -count for several.
func BenchmarkScale(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			for _, n := range []int{1_000, 10_000, 50_000} {
				b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
					var runs []map[string]float64
					for range b.N {
						runs = append(runs, scenario(b, kind, n))
					}
					for _, name := range metricOrder {
						var vs []float64
						for _, r := range runs {
							if v, ok := r[name]; ok {
								vs = append(vs, v)
							}
						}
						if len(vs) > 0 {
							b.ReportMetric(median(vs), name)
						}
					}
				})
			}
		})
	}
}

// metricOrder names the metrics, in the order they are reported.
var metricOrder = []string{
	"newbatch-s",     // Service.NewBatch: parse, seal, conflict check, insert
	"start-ms",       // Service.StartBatch (SetIntent over every user)
	"claim1-ms",      // median Claim, one caller, 0…limit leases live
	"heartbeat-µs",   // median Heartbeat with progress, limit leases live
	"claimfull-ms",   // median Claim that finds every slot taken
	"claims/s",       // the drain: claims (and finishes) per second, all schedulers
	"drain-s",        // the drain: until every user has had its initial pass
	"drained-%",      // the share of users drained (100 unless -scale.drainmax cut it short)
	"claim-p50-ms",   // the drain: each Claim call, as a worker waits for it
	"claim-p99-ms",   //
	"batchget-ms",    // Service.Batch
	"batches-ms",     // Service.Batches("")
	"users-ms",       // Service.Users(batch, "")
	"usersstatus-ms", // Service.Users("", Failed): none match
	"userget-ms",     // Service.User(email)
}

var boxKey = func() []byte {
	k := make([]byte, secret.KeySize)
	k[0] = 42
	return k
}()

func newDSN(b *testing.B, kind string) string {
	if kind == "postgres" {
		return testenv.PostgresDB(b)
	}
	return filepath.Join(b.TempDir(), "imapmigrate.db")
}

func open(b *testing.B, ctx context.Context, dsn string) store.Store {
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// migrationCSV is a migration file of n rows.
func migrationCSV(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("EmailAddress,UserName,Password\r\n")
	for i := range n {
		fmt.Fprintf(&buf, "user%06d@scale.example,user%06d,Pw-%06d-Secret\r\n", i, i, i)
	}
	return buf.Bytes()
}

func scenario(b *testing.B, kind string, n int) map[string]float64 {
	b.StopTimer()
	defer b.StartTimer()
	ctx := context.Background()
	m := make(map[string]float64)
	dsn := newDSN(b, kind)
	st := open(b, ctx, dsn)
	box, err := secret.New(boxKey)
	if err != nil {
		b.Fatal(err)
	}
	svc := &migration.Service{Store: st, Box: box}
	limit := *flagLimit
	for _, p := range []migration.EndpointParams{
		{Endpoint: migration.Endpoint{Name: "src", Server: "imap.old.example", MaxConcurrentMigrations: limit, MaxConcurrentIncrementalSyncs: limit}},
		{Endpoint: migration.Endpoint{Name: "tgt", Server: "imap.new.example", MailboxAccess: migration.AccessMaster, AdminUser: "admin",
			MaxConcurrentMigrations: limit, MaxConcurrentIncrementalSyncs: limit}, AdminPassword: "Admin-Secret"},
	} {
		p.SkipVerify = true
		if _, err := svc.NewEndpoint(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	csv := migrationCSV(n)

	b.StartTimer()
	t0 := time.Now()
	got, _, err := svc.NewBatch(ctx, migration.BatchParams{Name: "scale", Source: "src", Target: "tgt", CSV: bytes.NewReader(csv)})
	m["newbatch-s"] = time.Since(t0).Seconds()
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if got.Users != n {
		b.Fatalf("batch has %d users, want %d", got.Users, n)
	}

	t0 = time.Now()
	if err := svc.StartBatch(ctx, "scale"); err != nil {
		b.Fatal(err)
	}
	m["start-ms"] = ms(time.Since(t0))

	// Leases taken one by one up to the limit, their heartbeats, and a
	// claim that finds every slot taken.
	const owner = "bench/leases"
	live := min(limit, n)
	var claims []time.Duration
	var ids []int64
	for range live {
		t0 := time.Now()
		c, err := st.Claim(ctx, owner, "", time.Now(), time.Hour)
		claims = append(claims, time.Since(t0))
		if err != nil || c == nil {
			b.Fatalf("claim %d: %v %v", len(ids), c, err)
		}
		ids = append(ids, c.User.ID)
	}
	m["claim1-ms"] = ms(medianDur(claims))
	var hbs []time.Duration
	for round := range 3 {
		for i, id := range ids {
			p := migration.Progress{Items: int64(round*1000 + i), Bytes: int64(i) << 20, ItemsTotal: 5000, Folder: "INBOX/Archiv 2024", At: time.Now()}
			t0 := time.Now()
			intent, err := st.Heartbeat(ctx, id, owner, time.Now().Add(time.Hour), p)
			hbs = append(hbs, time.Since(t0))
			if err != nil || intent != migration.IntentRunning {
				b.Fatalf("heartbeat: %v %v", intent, err)
			}
		}
	}
	m["heartbeat-µs"] = float64(medianDur(hbs)) / float64(time.Microsecond)
	if n > live {
		var full []time.Duration
		for range 5 {
			t0 := time.Now()
			c, err := st.Claim(ctx, owner, "", time.Now(), time.Hour)
			full = append(full, time.Since(t0))
			if err != nil || c != nil {
				b.Fatalf("claim with every slot taken: %v %v", c, err)
			}
		}
		m["claimfull-ms"] = ms(medianDur(full))
	}
	if err := st.ReleaseAll(ctx, owner); err != nil {
		b.Fatal(err)
	}

	// The drain.
	d := drain(b, ctx, dsn, n)
	for k, v := range d {
		m[k] = v
	}
	got, err = svc.Batch(ctx, "scale")
	if err != nil {
		b.Fatal(err)
	}
	if want := int(float64(n) * m["drained-%"] / 100); got.Counts[migration.UserSynced] < want {
		b.Fatalf("after the drain: %v, want %d Synced", got.Counts, want)
	}

	// Reads.
	m["batchget-ms"] = timeMedian(b, func() error { _, err := svc.Batch(ctx, "scale"); return err })
	m["batches-ms"] = timeMedian(b, func() error { _, err := svc.Batches(ctx, ""); return err })
	m["users-ms"] = timeMedian(b, func() error {
		us, err := svc.Users(ctx, "scale", "")
		if err == nil && len(us) != n {
			err = fmt.Errorf("%d users, want %d", len(us), n)
		}
		return err
	})
	m["usersstatus-ms"] = timeMedian(b, func() error { _, err := svc.Users(ctx, "", migration.UserFailed); return err })
	i := 0
	m["userget-ms"] = timeMedian(b, func() error {
		i++
		_, err := svc.User(ctx, fmt.Sprintf("User%06d@Scale.Example", (i*7919)%n))
		return err
	})
	return m
}

// leaseCounter counts a scheduler's claims and finishes and times its
// claims; the drain ends when every user has finished once.
type leaseCounter struct {
	scheduler.LeaseStore
	d *drainState
}

type drainState struct {
	want     int64
	finished atomic.Int64
	nilClaim atomic.Int64
	errs     atomic.Int64
	done     chan struct{}
	end      time.Time

	mu    sync.Mutex
	claim []time.Duration
}

func (c *leaseCounter) Claim(ctx context.Context, owner, batch string, now time.Time, ttl time.Duration) (*migration.Claim, error) {
	t0 := time.Now()
	cl, err := c.LeaseStore.Claim(ctx, owner, batch, now, ttl)
	el := time.Since(t0)
	c.d.mu.Lock()
	c.d.claim = append(c.d.claim, el)
	c.d.mu.Unlock()
	switch {
	case err != nil && ctx.Err() == nil:
		c.d.errs.Add(1)
	case cl == nil && err == nil:
		c.d.nilClaim.Add(1)
	}
	return cl, err
}

func (c *leaseCounter) Finish(ctx context.Context, userID int64, owner string, o migration.Outcome) error {
	err := c.LeaseStore.Finish(ctx, userID, owner, o)
	if err == nil && c.d.finished.Add(1) == c.d.want {
		c.d.mu.Lock()
		c.d.end = time.Now()
		c.d.mu.Unlock()
		close(c.d.done)
	}
	return err
}

// noop is a pass that syncs nothing and succeeds at once.
func noop(_ context.Context, c *migration.Claim, _ *scheduler.Meter) migration.Outcome {
	o := migration.Outcome{Attempts: c.User.Attempts, At: time.Now()}
	return migration.EndPass(migration.PassEnd{Kind: c.Kind, Interval: time.Duration(c.Batch.IncrementalInterval)}, o)
}

func drain(b *testing.B, ctx context.Context, dsn string, n int) map[string]float64 {
	d := &drainState{want: int64(n), done: make(chan struct{})}
	var scheds []*scheduler.Scheduler
	for i := range *flagSchedulers {
		st := open(b, ctx, dsn)
		scheds = append(scheds, &scheduler.Scheduler{Store: &leaseCounter{LeaseStore: st, d: d}, Run: noop,
			Owner: fmt.Sprintf("bench/sched%d", i), Workers: *flagWorkers, Poll: 200 * time.Millisecond})
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for _, s := range scheds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Serve(runCtx)
		}()
	}
	limit := 2 * time.Hour
	if *flagDrainMax > 0 {
		limit = *flagDrainMax
	}
	cut := false
	select {
	case <-d.done:
	case <-time.After(limit):
		cut = true
	}
	finished := d.finished.Load()
	cutAt := time.Now()
	cancel()
	wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	el := d.end.Sub(start)
	if cut {
		if *flagDrainMax == 0 {
			b.Fatalf("drain: %d of %d finished after %v", finished, n, limit)
		}
		el = cutAt.Sub(start)
	} else {
		finished = int64(n)
	}
	if e := d.errs.Load(); e > 0 {
		b.Logf("drain: %d claims failed", e)
	}
	sort.Slice(d.claim, func(i, j int) bool { return d.claim[i] < d.claim[j] })
	return map[string]float64{
		"claims/s":     float64(finished) / el.Seconds(),
		"drain-s":      el.Seconds(),
		"drained-%":    100 * float64(finished) / float64(n),
		"claim-p50-ms": ms(d.claim[len(d.claim)/2]),
		"claim-p99-ms": ms(d.claim[len(d.claim)*99/100]),
	}
}

// timeMedian runs f at least 3 and at most 25 times, for about 2 s, and
// returns the median in milliseconds.
func timeMedian(b *testing.B, f func() error) float64 {
	var ds []time.Duration
	start := time.Now()
	for len(ds) < 3 || (len(ds) < 25 && time.Since(start) < 2*time.Second) {
		t0 := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	return ms(medianDur(ds))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func medianDur(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	return s[len(s)/2]
}
