// Package scale measures the service's store and scheduler at the size of
// an Exchange Online migration batch (up to 50,000 rows), by simulation: no
// IMAP server, a pass runner that returns Synced at once. Its only code is
// the benchmark (scale_bench_test.go); docs/BENCHMARKS.md ("Scale: the
// store and the scheduler") holds the commands and the figures.
//
//	go test -run '^$' -bench Scale -benchtime 1x -count 3 ./internal/bench/scale
//
// Each scenario, on a fresh SQLite file or PostgreSQL database (testenv),
// for 1,000, 10,000 and 50,000 users: creates the batch from a generated
// CSV with sealed passwords (migration.Service.NewBatch), starts it, takes
// as many leases one by one as the endpoints allow (300) and times
// Heartbeat with progress while they are live and a Claim that finds every
// slot taken, releases them, then lets several schedulers (each with its
// own store.Open) claim and finish every user's initial pass, and finally
// times Service.Batch, Service.Batches, Service.Users and Service.User.
package scale
