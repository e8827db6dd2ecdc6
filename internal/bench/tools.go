package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/imapmigrate/imapmigrate/internal/testenv"
)

// Tool names, as the report shows them.
const (
	ToolImapmigrate = "imapmigrate"
	ToolMbsync      = "mbsync"
)

// runEnv is what a tool needs to build one run's processes.
type runEnv struct {
	// dir is this run's scratch directory (configuration, state).
	dir string
	// host reaches both servers; their ports are in source and target.
	host           string
	source, target *testenv.Dovecot
	// users are copied, one process each.
	users []User
}

// tool is one migration program under test.
type tool interface {
	name() string
	// processes writes whatever the run needs under env.dir and returns one
	// process per user, not started.
	processes(env runEnv) ([]*process, error)
}

// imapmigrateTool runs `imapmigrate sync` once per user.
type imapmigrateTool struct {
	binary          string
	parallelFolders int
}

func (imapmigrateTool) name() string { return ToolImapmigrate }

func (t imapmigrateTool) processes(env runEnv) ([]*process, error) {
	// One master password serves both servers (testenv's default); a file
	// keeps it off the command line.
	srcPW := filepath.Join(env.dir, "source-password")
	tgtPW := filepath.Join(env.dir, "target-password")
	for path, pw := range map[string]string{srcPW: env.source.MasterPassword, tgtPW: env.target.MasterPassword} {
		if err := os.WriteFile(path, []byte(pw+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write password file: %w", err)
		}
	}
	var procs []*process
	for _, u := range env.users {
		args := []string{"sync",
			"--source-host", env.host, "--source-port", strconv.Itoa(env.source.TLSPort), "--source-security", "ssl",
			"--source-user", env.source.MasterLogin(u.Name), "--source-password-file", srcPW,
			"--target-host", env.host, "--target-port", strconv.Itoa(env.target.Port), "--target-security", "tls",
			"--target-user", env.target.MasterLogin(u.Name), "--target-password-file", tgtPW,
			"--ca-file", env.source.CA.CAFile,
			"--state", filepath.Join(env.dir, u.Name+".state"),
			"--data-dir", env.dir,
			"--parallel-folders", strconv.Itoa(t.parallelFolders),
			"--output", "json", "--log-level", "error",
		}
		want := 0
		var wantBytes int64
		for _, f := range u.Folders {
			want += len(f.Messages)
			for _, m := range f.Messages {
				wantBytes += int64(m.Size)
			}
		}
		procs = append(procs, &process{
			user: u.Name,
			argv: append([]string{t.binary}, args...),
			check: func(stdout []byte) error {
				return checkImapmigrateOutput(stdout, want, wantBytes)
			},
		})
	}
	return procs, nil
}

// checkImapmigrateOutput compares `imapmigrate sync --output json` with what
// the user's corpus holds.
func checkImapmigrateOutput(stdout []byte, want int, wantBytes int64) error {
	var out struct {
		Copied        int    `json:"MessagesCopied"`
		Matched       int    `json:"MessagesMatched"`
		Bytes         int64  `json:"Bytes"`
		SkippedTotal  int    `json:"ItemsSkipped"`
		FoldersFailed int    `json:"FoldersFailed"`
		Error         string `json:"Error"`
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		return fmt.Errorf("imapmigrate JSON output: %w", err)
	}
	var problems []string
	if out.Error != "" {
		problems = append(problems, "error: "+out.Error)
	}
	if out.Copied != want || out.Matched != 0 {
		problems = append(problems, fmt.Sprintf("MessagesCopied %d, MessagesMatched %d, want %d copied", out.Copied, out.Matched, want))
	}
	if out.Bytes != wantBytes {
		problems = append(problems, fmt.Sprintf("Bytes %d, want %d", out.Bytes, wantBytes))
	}
	if out.SkippedTotal != 0 || out.FoldersFailed != 0 {
		problems = append(problems, fmt.Sprintf("ItemsSkipped %d, FoldersFailed %d", out.SkippedTotal, out.FoldersFailed))
	}
	if len(problems) > 0 {
		return fmt.Errorf("imapmigrate reported %s", strings.Join(problems, "; "))
	}
	return nil
}

// mbsyncTool runs mbsync once per user, each with its own configuration
// file: one channel from the source (far) to the target (near).
type mbsyncTool struct {
	binary string
}

func (mbsyncTool) name() string { return ToolMbsync }

func (t mbsyncTool) processes(env runEnv) ([]*process, error) {
	var procs []*process
	for _, u := range env.users {
		state := filepath.Join(env.dir, "mbsync-state", u.Name) + "/"
		if err := os.MkdirAll(state, 0o700); err != nil {
			return nil, fmt.Errorf("mbsync state dir: %w", err)
		}
		rc := filepath.Join(env.dir, "mbsyncrc-"+u.Name)
		conf, err := mbsyncConfig(mbsyncParams{
			Channel:  u.Name,
			CAFile:   env.source.CA.CAFile,
			State:    state,
			Far:      mbsyncAccount{Host: env.host, Port: env.source.TLSPort, TLS: "IMAPS", User: env.source.MasterLogin(u.Name), Pass: env.source.MasterPassword},
			Near:     mbsyncAccount{Host: env.host, Port: env.target.Port, TLS: "STARTTLS", User: env.target.MasterLogin(u.Name), Pass: env.target.MasterPassword},
			Patterns: "*",
		})
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
			return nil, fmt.Errorf("write mbsyncrc: %w", err)
		}
		procs = append(procs, &process{user: u.Name, argv: []string{t.binary, "-q", "-c", rc, "-a"}})
	}
	return procs, nil
}

// mbsyncParams fills mbsyncTemplate.
type mbsyncParams struct {
	Channel   string
	CAFile    string
	State     string // SyncState: a directory, with the trailing slash
	Far, Near mbsyncAccount
	Patterns  string
}

type mbsyncAccount struct {
	Host      string
	Port      int
	TLS       string // SSLType: IMAPS or STARTTLS
	User      string
	Pass      string
	Directive string // set by mbsyncConfig: "Far" or "Near"
}

// mbsyncTemplate is an mbsyncrc for isync 1.4 (Far/Near, SSLType; 1.5
// renamed SSLType to TLSType and still reads the old name). PipelineDepth is
// left at its default (unlimited), as a user would. Mail flows far → near
// only: Sync Pull, and mailboxes are created on the near side only. Nothing
// is removed or expunged anywhere. CopyArrivalDate keeps INTERNALDATE, as
// imapmigrate does.
var mbsyncTemplate = template.Must(template.New("mbsyncrc").Funcs(template.FuncMap{"q": mbsyncQuote}).Parse(
	`# Written by imapmigrate internal/bench.
{{range $a := .Accounts}}IMAPAccount {{$.Channel}}-{{.Directive}}
Host {{q .Host}}
Port {{.Port}}
User {{q .User}}
Pass {{q .Pass}}
SSLType {{.TLS}}
CertificateFile {{q $.CAFile}}

IMAPStore {{$.Channel}}-{{.Directive}}
Account {{$.Channel}}-{{.Directive}}

{{end}}Channel {{.Channel}}
Far :{{.Channel}}-Far:
Near :{{.Channel}}-Near:
Patterns {{.Patterns}}
Create Near
Remove None
Expunge None
Sync Pull
CopyArrivalDate yes
SyncState {{q .State}}
`))

// mbsyncConfig renders an mbsyncrc.
func mbsyncConfig(p mbsyncParams) (string, error) {
	p.Far.Directive, p.Near.Directive = "Far", "Near"
	var b strings.Builder
	err := mbsyncTemplate.Execute(&b, struct {
		mbsyncParams
		Accounts []mbsyncAccount
	}{p, []mbsyncAccount{p.Far, p.Near}})
	if err != nil {
		return "", fmt.Errorf("render mbsyncrc: %w", err)
	}
	return b.String(), nil
}

// mbsyncQuote quotes a configuration argument: double quotes around it, with
// backslashes and double quotes escaped (mbsync(1), CONFIGURATION).
func mbsyncQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
