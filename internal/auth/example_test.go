package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/imapmigrate/imapmigrate/internal/auth"
	"github.com/imapmigrate/imapmigrate/internal/store/sqlite"
)

// A server's wiring: the audit log outside, the API behind a token; an
// account, a token, a change made with it, and the audit log's entry.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "auth-example")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	s := &auth.Service{Store: st, KDF: auth.KDF{Time: 1, MemoryKiB: 64, Threads: 1}}

	api := http.NewServeMux()
	api.HandleFunc("POST /api/v1/batches/{name}/start", func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.From(r.Context())
		fmt.Fprintf(w, "batch %s started by %s", r.PathValue("name"), p)
	})
	root := http.NewServeMux()
	root.Handle("/api/v1/", s.RequireToken(api))
	h := s.AuditChanges(root)

	s.AddAdmin(ctx, "alice", "correct horse battery staple")
	secret, _, _ := s.NewToken(ctx, "alice", "ci")

	r := httptest.NewRequest("POST", "/api/v1/batches/b1/start", nil)
	r.Header.Set("Authorization", "Bearer "+secret)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body)

	r = httptest.NewRequest("POST", "/api/v1/batches/b1/start", nil)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))

	log, _ := s.AuditLog(ctx, 10, 0)
	for _, e := range log {
		fmt.Printf("%s: %s %s\n", e.Actor, e.Action, e.Object)
	}
	// Output:
	// 200 batch b1 started by alice (token ci)
	// 401 Bearer realm="imapmigrate"
	// alice (token ci): batch start b1
}
