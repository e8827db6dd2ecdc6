package cli

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// user stats --history lists the user's passes after a real sync: a
// table in text, PassHistory in JSON; without --history neither.
func TestUserStatsHistory(t *testing.T) {
	src := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry": "x"}, MasterUser: "admin", MasterPassword: srcSecret})
	tgt := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry@new.example": "y"}, MasterUser: "admin", MasterPassword: tgtSecret})
	rng := rand.New(rand.NewPCG(9, 9))
	c := testenv.Login(t, src.Addr(), "terry", "x")
	testenv.Seed(t, c, "INBOX",
		testenv.Message{Body: testenv.GenMessage(rng, 2000), InternalDate: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
		testenv.Message{Body: testenv.GenMessage(rng, 3000), InternalDate: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
	)
	c.Close()

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "admin.pw"), []byte(tgtSecret), 0o600)
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte("EmailAddress,UserName,Password\nterry@new.example,terry*admin,"+srcSecret+"\n"), 0o600)
	env := map[string]string{secret.EnvKey: ""}
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	step := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(data, args...), env)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		return out
	}
	step("endpoint", "new", "old", "--server", src.Host, "--port", strconv.Itoa(src.TLSPort), "--ca-file", src.CA.CAFile, "--skip-verify-connection")
	step("endpoint", "new", "new", "--server", tgt.Host, "--port", strconv.Itoa(tgt.TLSPort), "--ca-file", tgt.CA.CAFile, "--skip-verify-connection",
		"--mailbox-access", "master", "--admin-user", "admin", "--admin-password-file", filepath.Join(dir, "admin.pw"))
	step("batch", "new", "B", "--source", "old", "--target", "new", "--csv", filepath.Join(dir, "users.csv"))
	step("batch", "run", "B", "--poll", "50ms")

	out := step("user", "stats", "terry@new.example", "--history")
	if !strings.Contains(out, "KIND") || !strings.Contains(out, "ITEMS SYNCED") {
		t.Fatalf("user stats --history has no table of passes:\n%s", out)
	}
	var line string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(l, "initial ") {
			line = l
		}
	}
	f := strings.Fields(line)
	// KIND WORKER START(date time) DURATION STATUS ITEMS SYNCED ITEMS SKIPPED BYTES...
	if len(f) < 8 || f[5] != string(migration.UserSynced) || f[6] != "2" || f[7] != "0" {
		t.Errorf("user stats --history: the initial pass's line is %q:\n%s", line, out)
	}
	if out := step("user", "stats", "terry@new.example"); strings.Contains(out, "KIND") {
		t.Errorf("user stats lists the passes unasked:\n%s", out)
	}

	out = step("user", "stats", "terry@new.example", "--history", "-o", "json")
	var st struct {
		PassHistory []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.PassHistory) != 1 {
		t.Fatalf("user stats --history -o json: %v\n%s", err, out)
	}
	p := st.PassHistory[0]
	if p["Kind"] != "initial" || p["Status"] != "Synced" || p["ItemsSynced"] != 2.0 || p["ItemsSkipped"] != 0.0 || p["Worker"] == "" ||
		p["BytesTransferred"].(float64) < 5000 || p["StartTime"] == nil || p["EndTime"] == nil || p["Duration"] == nil {
		t.Errorf("pass in JSON: %v\n%s", p, out)
	}
	if out := step("user", "stats", "terry@new.example", "-o", "json"); strings.Contains(out, "PassHistory") {
		t.Errorf("user stats -o json has the history unasked:\n%s", out)
	}
}
