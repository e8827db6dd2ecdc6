package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/secret"
	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// testRoot is the command tree, to walk and to look flags up in.
func testRoot() *cobra.Command {
	return NewRootCommand(&globalOptions{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
}

// Every command that groups others, the root included, refuses an unknown
// subcommand with exit status 2 and says so; given nothing, it prints its
// help.
func TestUnknownCommandsExit2(t *testing.T) {
	var groups [][]string
	runnable := make(map[string]bool) // groups that are commands too (worker runs; worker list lists)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			groups = append(groups, strings.Fields(c.CommandPath())[1:])
			runnable[c.CommandPath()] = c.Runnable()
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(testRoot())
	if len(groups) < 5 { // root, batch, endpoint, user, csv, completion…
		t.Fatalf("only %d groups: %v", len(groups), groups)
	}
	data := []string{"--data-dir", t.TempDir()}
	for _, path := range groups {
		name := strings.Join(append([]string{"imapmigrate"}, path...), " ")
		code, out, errOut := run(t, append(append(data, path...), "nosuch"), nil)
		if code != ExitUsage || !strings.Contains(errOut, `unknown command "nosuch" for "`+name+`"`) || out != "" {
			t.Errorf("%s nosuch: exit %d, want 2 and a message\nstdout: %s\nstderr: %s", name, code, out, errOut)
		}
		if runnable[name] {
			continue
		}
		code, out, errOut = run(t, append(data, path...), nil)
		if code != ExitOK || !strings.Contains(out, "Usage:") {
			t.Errorf("%s: exit %d, want its help\nstdout: %s\nstderr: %s", name, code, out, errOut)
		}
		// help TOPIC nosuch is no topic either.
		code, _, errOut = run(t, append(append(append(data, "help"), path...), "nosuch"), nil)
		if code != ExitUsage || !strings.Contains(errOut, `unknown command "nosuch"`) {
			t.Errorf("help %s nosuch: exit %d\n%s", name, code, errOut)
		}
	}
	// A near miss is suggested.
	if _, _, errOut := run(t, append(data, "batch", "strat"), nil); !strings.Contains(errOut, "did you mean start?") {
		t.Errorf("batch strat: %s", errOut)
	}
}

func TestVersionOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want versionInfo
		text string
	}{
		{"no build info", nil, false, versionInfo{Version: "devel"}, "imapmigrate devel"},
		{"work tree", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true, versionInfo{Version: "devel"}, "imapmigrate devel"},
		{"release", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "4ad9e28"}, {Key: "vcs.time", Value: "2026-12-01T22:30:18Z"}, {Key: "vcs.modified", Value: "false"}}}, true,
			versionInfo{Version: "v1.2.3", Revision: "4ad9e28", Time: "2026-12-01T22:30:18Z"}, "imapmigrate v1.2.3 (revision 4ad9e28, 2026-12-01T22:30:18Z)"},
		{"dirty", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "4ad9e28"}, {Key: "vcs.modified", Value: "true"}}}, true,
			versionInfo{Version: "devel", Revision: "4ad9e28", Modified: true}, "imapmigrate devel (revision 4ad9e28, modified)"},
	} {
		got := versionOf(tt.bi, tt.ok)
		if got != tt.want || got.String() != tt.text {
			t.Errorf("%s: %+v %q, want %+v %q", tt.name, got, got.String(), tt.want, tt.text)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	old := buildInfo
	t.Cleanup(func() { buildInfo = old })
	buildInfo = func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}}}, true
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := run(t, args, nil)
		if code != 0 || out != "imapmigrate v1.2.3 (revision abc123)\n" {
			t.Errorf("%v: exit %d %q %s", args, code, out, errOut)
		}
		code, out, errOut = run(t, append(args, "-o", "json"), nil)
		var v map[string]any
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["Version"] != "v1.2.3" || v["Revision"] != "abc123" {
			t.Errorf("%v -o json: exit %d %q %s", args, code, out, errOut)
		}
	}
	buildInfo = func() (*debug.BuildInfo, bool) { return nil, false }
	if _, out, _ := run(t, []string{"version"}, nil); out != "imapmigrate devel\n" {
		t.Errorf("without build info: %q", out)
	}
}

// flagRE finds the flags a message names: "--security", or "endpoint set
// old --security" (a flag of endpoint set).
var flagRE = regexp.MustCompile(`(endpoint set \S+ )?(--[a-z][a-z0-9-]*)`)

// checkFlagsReal fails the test for each flag msg names that is not a flag
// of the command args run (or of endpoint set, where msg says so).
func checkFlagsReal(t *testing.T, root *cobra.Command, args []string, msg string) (flags []string) {
	t.Helper()
	cmd, _, err := root.Find(args)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	set, _, _ := root.Find([]string{"endpoint", "set"})
	for _, m := range flagRE.FindAllStringSubmatch(msg, -1) {
		c := cmd
		if m[1] != "" {
			c = set
		}
		name := strings.TrimPrefix(m[2], "--")
		if c.Flags().Lookup(name) == nil && c.InheritedFlags().Lookup(name) == nil {
			t.Errorf("%v: the message names %s, which %q does not have:\n%s", args, m[0], c.CommandPath(), msg)
		}
		flags = append(flags, m[0])
	}
	return flags
}

// Each command's table of the service's fields names its real flags.
func TestFieldFlagsAreReal(t *testing.T) {
	n := 0
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for k, v := range c.Annotations {
			field, ok := strings.CutPrefix(k, fieldAnnotation)
			if !ok {
				continue
			}
			n++
			name, isFlag := strings.CutPrefix(v, "--")
			switch {
			case isFlag && c.Flags().Lookup(name) == nil:
				t.Errorf("%s: %s is set by %s, which it does not have", c.CommandPath(), field, v)
			case !isFlag && !strings.Contains(c.Use, v):
				t.Errorf("%s: %s is set by argument %s, not in %q", c.CommandPath(), field, v, c.Use)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(testRoot())
	if n < 20 {
		t.Errorf("only %d fields mapped", n)
	}
}

// Every problem each command can report on bad input names only flags
// that command has (or, for a stored endpoint, endpoint set's), and -o
// json lists the same problems, each with the flag of its field.
func TestProblemsNameRealFlags(t *testing.T) {
	srv := testenv.StartMemServer(t, testenv.MemServerOptions{Users: map[string]string{"terry": "x"}, MasterUser: "admin", MasterPassword: srcSecret})
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pw := write("admin.pw", srcSecret)
	csv := write("users.csv", "EmailAddress,UserName,Password\nterry@new.example,terry,"+csvSecret+"\n")
	other := write("other.csv", "EmailAddress,UserName,Password\nann@new.example,ann,"+csvSecret+"\n")
	badCSV := write("bad.csv", "EmailAddress,UserName,Password\nbob@,bob,"+csvSecret+"\n\nann@x.org,ann,\""+csvSecret+"\"x\n")
	legacy := write("legacy.csv", "EmailAddress,UserName,Password\r\nzhang@contoso.cn,\xd5\xc5\xce\xb0,"+csvSecret+"\r\n")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	port, tlsPort := strconv.Itoa(srv.Port), strconv.Itoa(srv.TLSPort)

	env := map[string]string{secret.EnvKey: "", "IMAPMIGRATE_SOURCE_PASSWORD": "", "IMAPMIGRATE_TARGET_PASSWORD": ""}
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	step := func(args ...string) {
		t.Helper()
		if code, out, errOut := run(t, append(data, args...), env); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}
	step("endpoint", "new", "src", "--server", srv.Host, "--skip-verify-connection")
	step("endpoint", "new", "tgt", "--server", srv.Host, "--skip-verify-connection", "--mailbox-access", "xoauth2", "--token-command", "true")
	step("endpoint", "new", "pu", "--server", srv.Host, "--skip-verify-connection", "--mailbox-access", "per-user")
	step("batch", "new", "B", "--source", "src", "--target", "tgt", "--csv", csv)
	step("batch", "new", "Started", "--source", "src", "--target", "tgt", "--csv", other, "--autostart")

	root := testRoot()
	tests := []struct {
		args []string
		code int
		want []string // in stderr, in this order
	}{
		// endpoint new: every bad setting at once.
		{[]string{"endpoint", "new", "bad name", "--security", "x", "--port", "70000", "--auth", "y", "--max-concurrent-migrations", "500", "--mailbox-access", "master"}, 1, []string{
			"8 problems", `NAME "bad name": use letters`, "--server: required", "--security x: must be none, ssl", "--port 70000: must be between 1 and 65535",
			"--auth y: must be login or plain", "--max-concurrent-migrations 500: must be between 1 and 300", "--admin-user: required with mailbox access master",
			"--admin-password-file: required"}},
		{[]string{"endpoint", "new", "e", "--server", "h", "--max-concurrent-migrations", "10", "--max-concurrent-incremental-syncs", "50", "--mailbox-access", "xoauth2"}, 1, []string{
			"--max-concurrent-incremental-syncs 50: must be between 1 and the most concurrent migrations (10)", "--token-command: required with mailbox access xoauth2"}},
		{[]string{"endpoint", "new", "e", "--server", "h", "--mailbox-access", "bogus"}, 1, []string{"--mailbox-access bogus: must be master, authzid, per-user or xoauth2"}},
		{[]string{"endpoint", "new", "src", "--server", "h", "--skip-verify-connection"}, 1, []string{"NAME src: an endpoint of this name exists already"}},
		// endpoint new: the connection test's advice.
		{[]string{"endpoint", "new", "e", "--server", "127.0.0.1", "--port", closed, "--security", "none"}, 1, []string{"--skip-verify-connection", "check --port"}},
		{[]string{"endpoint", "new", "e", "--server", srv.Host, "--port", port, "--security", "ssl"}, 1, []string{"use --security tls or none"}},
		{[]string{"endpoint", "new", "e", "--server", srv.Host, "--port", tlsPort, "--security", "ssl"}, 1, []string{"--ca-file"}},
		{[]string{"endpoint", "new", "e", "--server", srv.Host, "--port", tlsPort, "--security", "ssl", "--mailbox-access", "authzid", "--admin-user", "admin",
			"--admin-password-file", pw, "--ca-file", filepath.Join(dir, "nosuch.pem")}, 1, []string{"--ca-file"}},
		// endpoint set.
		{[]string{"endpoint", "set", "src", "--security", "x", "--max-concurrent-migrations", "500"}, 1, []string{"--security x", "--max-concurrent-migrations 500"}},
		{[]string{"endpoint", "set", "src", "--mailbox-access", "authzid"}, 1, []string{"--admin-user: required", "--admin-password-file: required"}},
		{[]string{"endpoint", "set", "nosuch", "--server", "h"}, 1, []string{"endpoint nosuch does not exist"}},
		{[]string{"endpoint", "remove", "src"}, 1, []string{"endpoint src is used by a batch"}},
		// batch new: every problem at once, the file's rows too.
		{[]string{"batch", "new", "b x", "--source", "nosuch", "--target", "src", "--csv", badCSV, "--exclude-folder", "", "--exclude-folder", "a/**/b", "--incremental-interval", "10ms"}, 1, []string{
			"9 problems", `NAME "b x"`, "--source nosuch: no endpoint", "--target src: this endpoint cannot be a target", "--exclude-folder: empty pattern",
			"--exclude-folder a/**/b: ", "--incremental-interval 10ms: must be at least 1s", "--csv: invalid migration file, 3 problems",
			"row 2, column EmailAddress", "row 3: blank row", "row 4, column Password"}},
		{[]string{"batch", "new", "P", "--source", "src", "--target", "pu", "--csv", csv}, 1, []string{
			"--csv: invalid migration file, 1 problem", "row 2, column TargetUserName: empty, but target endpoint pu opens mailboxes per user"}},
		{[]string{"batch", "new", "C", "--source", "src", "--target", "tgt", "--csv", csv}, 1, []string{"row 2, column EmailAddress: terry@new.example is already in batch B"}},
		{[]string{"batch", "new", "B", "--source", "src", "--target", "tgt", "--csv", write("new.csv", "EmailAddress,UserName,Password\nnew@new.example,n,"+csvSecret+"\n")}, 1, []string{
			"NAME B: a batch of this name exists already"}},
		{[]string{"batch", "new", "C", "--source", "src", "--target", "tgt", "--csv", legacy}, 1, []string{"row 2, column UserName", "--csv-encoding"}},
		{[]string{"batch", "new", "C", "--source", "src", "--target", "tgt", "--csv", csv, "--csv-encoding", "nope"}, 1, []string{`--csv-encoding: encoding "nope" is unknown`}},
		// batch set and the batch verbs.
		{[]string{"batch", "set", "B", "--exclude-folder", "", "--incremental-interval", "10ms"}, 1, []string{"2 problems", "--exclude-folder: empty pattern", "--incremental-interval 10ms"}},
		{[]string{"batch", "set", "Started", "--incremental-interval", "1h"}, 1, []string{"batch Started is Syncing: its settings can be changed only before it is started"}},
		{[]string{"batch", "set", "nosuch", "--incremental-interval", "1h"}, 1, []string{"batch nosuch does not exist"}},
		{[]string{"batch", "stop", "B"}, 1, []string{"only a syncing or synced batch can be stopped"}},
		{[]string{"batch", "complete", "B"}, 1, []string{"start it and let it sync before completing it"}},
		{[]string{"batch", "start", "nosuch"}, 1, []string{"batch nosuch does not exist"}},
		// user get.
		{[]string{"user", "get", "--status", "nope"}, 2, []string{"--status nope: unknown status: use one of Queued, Syncing, Synced, Failed"}},
		// sync: its settings and its connections' advice name its flags.
		{[]string{"sync", "--source-host", srv.Host}, 2, []string{"--source-password-file"}},
		{[]string{"sync", "--source-user", "u", "--source-authzid", "z", "--target-host", "h", "--target-user", "u"}, 2, []string{"--source-host is required"}},
		{[]string{"sync", "--source-host", srv.Host, "--source-user", "u", "--source-authzid", "z", "--target-host", "h", "--target-user", "u"}, 2, []string{"--source-authzid needs --source-auth plain"}},
		{[]string{"sync", "--source-host", srv.Host, "--source-port", port, "--source-security", "ssl", "--source-user", "terry",
			"--target-host", srv.Host, "--target-port", port, "--target-security", "ssl", "--target-user", "terry"}, 2, []string{"--source-security"}},
	}
	for _, tt := range tests {
		env := map[string]string{"IMAPMIGRATE_SOURCE_PASSWORD": "x", "IMAPMIGRATE_TARGET_PASSWORD": "x"}
		if tt.args[0] == "sync" && tt.want[0] == "--source-password-file" {
			env["IMAPMIGRATE_SOURCE_PASSWORD"] = ""
		}
		args := append(append([]string{}, data...), tt.args...)
		code, out, errOut := run(t, args, env)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.code, out, errOut)
			continue
		}
		rest := errOut
		for _, w := range tt.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%v: stderr lacks %q (in this order):\n%s", tt.args, w, errOut)
				break
			}
			rest = rest[i+len(w):]
		}
		checkFlagsReal(t, root, tt.args, errOut)
		if strings.Contains(errOut, csvSecret) || strings.Contains(errOut, srcSecret) {
			t.Errorf("%v: a password in the message:\n%s", tt.args, errOut)
		}

		// -o json: the same problems on stdout, as an array, alone.
		if tt.args[0] == "sync" || strings.Contains(errOut, "connection test failed") {
			continue // not validation problems
		}
		code, out, errOut = run(t, append(args, "-o", "json"), env)
		if code != tt.code {
			t.Errorf("%v -o json: exit %d, want %d\n%s", tt.args, code, tt.code, errOut)
			continue
		}
		var list []problemJSON
		dec := json.NewDecoder(strings.NewReader(out))
		if err := dec.Decode(&list); err != nil || dec.More() || len(list) == 0 {
			t.Errorf("%v -o json: not one JSON array of problems (%v):\n%s\nstderr: %s", tt.args, err, out, errOut)
			continue
		}
		for _, p := range list {
			if p.Fix == "" && p.Message == "" {
				t.Errorf("%v -o json: a problem says nothing: %+v", tt.args, p)
			}
			if p.Field == "" {
				continue
			}
			if p.Flag == "" || p.Flag == p.Field {
				t.Errorf("%v -o json: field %s has no flag of this command", tt.args, p.Field)
			}
			checkFlagsReal(t, root, tt.args, p.Flag+" "+p.Fix)
		}
	}
}

// A CSV problem in -o json keeps its row and column.
func TestBatchNewProblemsJSON(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("EmailAddress,UserName,Password\nbob@,bob,x\n"), 0o600)
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	env := map[string]string{secret.EnvKey: ""}
	if code, out, errOut := run(t, append(data, "endpoint", "new", "old", "--server", "imap.example", "--skip-verify-connection"), env); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := run(t, append(data, "batch", "new", "B", "--source", "nosuch", "--target", "nosuch", "--csv", bad, "-o", "json"), env)
	var list []problemJSON
	if code != ExitPartial || json.Unmarshal([]byte(out), &list) != nil {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	want := []problemJSON{
		{Field: "Source", Flag: "--source", Value: "nosuch", Fix: "no endpoint has this name: create it first, or check the name"},
		{Field: "Target", Flag: "--target", Value: "nosuch", Fix: "no endpoint has this name: create it first, or check the name"},
	}
	if len(list) != 3 || list[0] != want[0] || list[1] != want[1] {
		t.Fatalf("got %+v", list)
	}
	if p := list[2]; p.Field != "CSV" || p.Flag != "--csv" || p.Row != 2 || p.Column != "EmailAddress" || p.Message == "" || p.Fix == "" {
		t.Errorf("CSV problem: %+v", p)
	}
	if errOut != "" {
		t.Errorf("stderr: %s", errOut)
	}
}

// batch start, stop, complete, remove and endpoint remove answer one JSON
// object with -o json, and nothing else on stdout; batch new one object
// too.
func TestBatchVerbsJSON(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	os.WriteFile(csv, []byte("EmailAddress,UserName,Password\nterry@new.example,terry,"+csvSecret+"\n"), 0o600)
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	env := map[string]string{secret.EnvKey: ""}
	jsonOf := func(args ...string) map[string]any {
		t.Helper()
		code, out, errOut := run(t, append(append(data, args...), "-o", "json"), env)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader([]byte(out)))
		if err := dec.Decode(&v); err != nil || dec.More() {
			t.Fatalf("%v: not one JSON value (%v):\n%s", args, err, out)
		}
		m, _ := v.(map[string]any)
		return m
	}
	jsonOf("endpoint", "new", "src", "--server", "h", "--skip-verify-connection")
	jsonOf("endpoint", "new", "tgt", "--server", "h", "--skip-verify-connection", "--mailbox-access", "xoauth2", "--token-command", "true")
	jsonOf("endpoint", "new", "spare", "--server", "h", "--skip-verify-connection")
	if b := jsonOf("batch", "new", "B", "--source", "src", "--target", "tgt", "--csv", csv); b["Identity"] != "B" || b["Status"] != string(migration.BatchCreated) {
		t.Errorf("batch new: %v", b)
	}
	for _, tt := range []struct{ verb, result, status string }{
		{"start", "started", string(migration.BatchSyncing)},
		{"stop", "stopping", ""},
		{"start", "started", string(migration.BatchSyncing)},
		{"complete", "completing", string(migration.BatchCompleting)},
		{"remove", "removed", ""},
	} {
		v := jsonOf("batch", tt.verb, "B")
		if v["Name"] != "B" || v["Result"] != tt.result {
			t.Errorf("batch %s: %v", tt.verb, v)
		}
		b, _ := v["Batch"].(map[string]any)
		switch {
		case tt.result == "removed" && b != nil:
			t.Errorf("batch remove: a batch after it: %v", v)
		case tt.result != "removed" && (b == nil || b["Identity"] != "B"):
			t.Errorf("batch %s: no batch after it: %v", tt.verb, v)
		case tt.status != "" && b["Status"] != tt.status:
			t.Errorf("batch %s: status %v, want %s", tt.verb, b["Status"], tt.status)
		}
	}
	if v := jsonOf("endpoint", "remove", "spare"); v["Name"] != "spare" || v["Result"] != "removed" {
		t.Errorf("endpoint remove: %v", v)
	}
}

// user get --status takes a status in any case.
func TestUserGetStatus(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	os.WriteFile(csv, []byte("EmailAddress,UserName,Password\nterry@new.example,terry,"+csvSecret+"\n"), 0o600)
	data := []string{"--data-dir", filepath.Join(dir, "data")}
	env := map[string]string{secret.EnvKey: ""}
	for _, args := range [][]string{
		{"endpoint", "new", "src", "--server", "h", "--skip-verify-connection"},
		{"endpoint", "new", "tgt", "--server", "h", "--skip-verify-connection", "--mailbox-access", "xoauth2", "--token-command", "true"},
		{"batch", "new", "B", "--source", "src", "--target", "tgt", "--csv", csv},
	} {
		if code, out, errOut := run(t, append(data, args...), env); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, out, errOut)
		}
	}
	for _, tt := range []struct {
		status string
		found  bool
	}{{"queued", true}, {"QUEUED", true}, {"Queued", true}, {"synced", false}} {
		code, out, errOut := run(t, append(data, "user", "get", "--status", tt.status), env)
		if code != 0 || strings.Contains(out, "terry@new.example") != tt.found {
			t.Errorf("--status %s: exit %d, listed %v, want %v\n%s%s", tt.status, code, !tt.found, tt.found, out, errOut)
		}
	}
	code, out, errOut := run(t, append(data, "user", "get", "--status", "done"), env)
	if code != ExitUsage || out != "" || !strings.Contains(errOut, "--status done") {
		t.Errorf("--status done: exit %d\n%s%s", code, out, errOut)
	}
	for _, st := range migration.UserStatuses {
		if !strings.Contains(errOut, string(st)) {
			t.Errorf("--status done: %s not listed: %s", st, errOut)
		}
	}
}
