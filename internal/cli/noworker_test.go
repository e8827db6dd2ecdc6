package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/store"
)

// batch start and complete with no live worker still record the command,
// and say that nothing will sync: on stderr in text, as Warning in JSON.
// stop says nothing, nor does any of them once a worker is live.
func TestBatchStartWithoutWorker(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	os.WriteFile(csv, []byte("EmailAddress,UserName,Password\nterry@new.example,terry,"+csvSecret+"\n"), 0o600)
	dataDir := filepath.Join(dir, "data")
	data := []string{"--data-dir", dataDir}
	env := map[string]string{secret.EnvKey: ""}
	step := func(args ...string) (string, string) {
		t.Helper()
		code, out, errOut := run(t, append(data, args...), env)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out, errOut
	}
	step("endpoint", "new", "src", "--server", "h", "--skip-verify-connection")
	step("endpoint", "new", "tgt", "--server", "h", "--skip-verify-connection", "--mailbox-access", "xoauth2", "--token-command", "true")
	step("batch", "new", "B", "--source", "src", "--target", "tgt", "--csv", csv)

	out, errOut := step("batch", "start", "B")
	if out != "Batch B started.\n" || strings.TrimSpace(errOut) != noWorkerHint {
		t.Errorf("batch start: stdout %q, stderr %q", out, errOut)
	}
	if !strings.Contains(noWorkerHint, "No worker is running: start `imapmigrate serve` or `imapmigrate worker`") {
		t.Errorf("hint: %s", noWorkerHint)
	}
	_, errOut = step("batch", "stop", "B")
	if errOut != "" {
		t.Errorf("batch stop: stderr %q", errOut)
	}
	out, errOut = step("batch", "start", "B", "-o", "json")
	var r struct{ Result, Warning string }
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Result != "started" || r.Warning != noWorkerHint || errOut != "" {
		t.Errorf("batch start -o json: %v %+v\nstdout: %s\nstderr: %s", err, r, out, errOut)
	}
	_, errOut = step("batch", "complete", "B")
	if !strings.Contains(errOut, noWorkerHint) {
		t.Errorf("batch complete: stderr %q", errOut)
	}

	// A live worker: nothing to say.
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dataDir, "imapmigrate.db"), store.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = st.PutWorker(ctx, migration.Worker{Name: "w1", Host: "h", PID: 1, Slots: 1, Started: now, Seen: now})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	step("batch", "new", "C", "--source", "src", "--target", "tgt", "--csv", writeCSV(t, "c.csv", "EmailAddress,UserName,Password\nann@new.example,ann,"+csvSecret+"\n"))
	if _, errOut := step("batch", "start", "C"); errOut != "" {
		t.Errorf("batch start with a worker: stderr %q", errOut)
	}
	out, _ = step("batch", "complete", "C", "-o", "json")
	r.Warning = ""
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Warning != "" {
		t.Errorf("batch complete -o json with a worker: %s", out)
	}
}
