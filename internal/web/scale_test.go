package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// BenchmarkBatchPage20000 is a batch's page, and its live part, on a batch
// of 20,000 users: go test -bench BatchPage -run '^$' ./internal/web/
func BenchmarkBatchPage20000(b *testing.B) {
	e := newEnv(b)
	e.login(b)
	e.endpoints(b)
	var csv strings.Builder
	csv.WriteString("EmailAddress,UserName,Password\r\n")
	for i := range 20000 {
		fmt.Fprintf(&csv, "user%05d@new.example,user%05d,pw-%d\r\n", i, i, i)
	}
	if _, _, err := e.srv.Service.NewBatch(context.Background(), migration.BatchParams{Name: "Big", Source: "old", Target: "new",
		CSV: strings.NewReader(csv.String()), AutoStart: true}); err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/batches/Big", "/batches/Big/live?status=Queued&offset=19900", "/batches/rows"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				if code, _, _ := e.get(b, path); code != 200 {
					b.Fatalf("%s: %d", path, code)
				}
			}
		})
	}
}
