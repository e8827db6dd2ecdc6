package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/imapmigrate/imapmigrate/internal/imapconn"
	"github.com/imapmigrate/imapmigrate/internal/migration"
	"github.com/imapmigrate/imapmigrate/internal/sensitive"
	"github.com/imapmigrate/imapmigrate/internal/store"
	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

func init() { subcommands = append(subcommands, newSyncCommand) }

// sideFlags are the flags of one side (source or target) of a sync.
type sideFlags struct {
	name         string // "source" or "target"
	host         string
	port         int
	security     string
	user         string
	passwordFile string
	tokenFile    string
	auth         string
	authzid      string
	userRoot     string
	caFile       string
}

func (s *sideFlags) addFlags(fs *pflag.FlagSet) {
	n := s.name
	fs.StringVar(&s.host, n+"-host", "", n+" IMAP server host name")
	fs.IntVar(&s.port, n+"-port", 0, n+" port (default 993 with ssl, else 143)")
	fs.StringVar(&s.security, n+"-security", "ssl", n+" connection security: none, ssl (implicit TLS) or tls (STARTTLS, required)")
	fs.StringVar(&s.user, n+"-user", "", n+" login name as the server expects it, e.g. 'terry*mailadmin' for a Dovecot master login")
	fs.StringVar(&s.passwordFile, n+"-password-file", "", n+" password file (else $IMAPMIGRATE_"+strings.ToUpper(n)+"_PASSWORD, else a prompt on a terminal)")
	fs.StringVar(&s.tokenFile, n+"-token-file", "", n+" OAuth2 bearer token file, for --"+n+"-auth xoauth2 or oauthbearer")
	fs.StringVar(&s.auth, n+"-auth", "login", n+" authentication: login, plain, xoauth2 or oauthbearer")
	fs.StringVar(&s.caFile, n+"-ca-file", "", n+" PEM file of certificate authorities to trust (default: --ca-file)")
	fs.StringVar(&s.authzid, n+"-authzid", "", n+" SASL PLAIN authorization identity: log in as --"+n+"-user (an admin) acting as this user")
}

// flag names a connection setting for hints: one flag per side
// (--source-security), but --insecure-skip-verify for both.
func (s *sideFlags) flag(setting string) string {
	if setting == "insecure-skip-verify" {
		return "--" + setting
	}
	return "--" + s.name + "-" + setting
}

// config builds the connection settings, reading the secret.
func (s *sideFlags) config(o *syncOptions, stdin io.Reader) (*imapconn.Config, error) {
	cfg := &imapconn.Config{
		Name: s.name, Host: s.host, Port: s.port, Security: imapconn.Security(s.security),
		Auth: imapconn.AuthMech(s.auth), User: s.user, Authzid: s.authzid,
		CAFile: o.caFile, InsecureSkipVerify: o.insecure, Flag: s.flag,
	}
	if s.caFile != "" {
		cfg.CAFile = s.caFile
	}
	secret, err := s.secret(stdin)
	if err != nil {
		return nil, err
	}
	cfg.Password = sensitive.String(secret)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (s *sideFlags) secret(stdin io.Reader) (string, error) {
	oauth := s.auth == string(imapconn.AuthXOAUTH2) || s.auth == string(imapconn.AuthOAuthBearer)
	file := s.passwordFile
	if oauth && s.tokenFile != "" {
		file = s.tokenFile
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--%s-password-file: %w", s.name, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if oauth {
		return "", fmt.Errorf("--%s-auth %s needs --%s-token-file", s.name, s.auth, s.name)
	}
	env := "IMAPMIGRATE_" + strings.ToUpper(s.name) + "_PASSWORD"
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(os.Stderr, "%s password for %s at %s: ", s.name, s.user, s.host)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return "", fmt.Errorf("no %s password: give --%s-password-file, set %s, or run on a terminal to be asked", s.name, s.name, env)
}

type syncOptions struct {
	source, target  sideFlags
	caFile          string
	insecure        bool
	state           string
	exclude         []string
	dryRun          bool
	parallelFolders int
	maxMessageSize  string
	maxItems        int
	copyDeleted     bool
}

func newSyncCommand(g *globalOptions) *cobra.Command {
	o := &syncOptions{source: sideFlags{name: "source"}, target: sideFlags{name: "target"}}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Copy one mailbox from a source IMAP server to a target IMAP server",
		Long: `Copy every folder and message of one mailbox from the source server to the
target server: byte for byte, with flags, keywords and INTERNALDATE. Run it
again to copy only what is new and to carry over flag changes; nothing is ever
copied twice, even after a crash or a kill at any instant.

The state of the pair (what was copied where) is kept in a SQLite file, by
default under --data-dir, named after the source and target server and user.

Passwords are never taken from the command line: give a file, set
IMAPMIGRATE_SOURCE_PASSWORD / IMAPMIGRATE_TARGET_PASSWORD, or answer the
prompt on a terminal.

EXAMPLES
  # Dovecot master user on both sides (user*admin), implicit TLS to STARTTLS
  imapmigrate sync \
    --source-host imap.old.example --source-security ssl \
    --source-user 'terry.adams*mailadmin' --source-password-file old-admin.txt \
    --target-host imap.new.example --target-security tls \
    --target-user 'terrya@new.example*mailadmin' --target-password-file new-admin.txt

  # SASL PLAIN with an authorization identity, and a dry run first
  imapmigrate sync --dry-run --source-auth plain --source-user mailadmin \
    --source-authzid terry.adams ...

EXIT STATUS
  0  every message was copied (or already there)
  1  some messages were skipped or a folder failed (listed in the summary)
  2  the sync could not run: usage, connection or authentication error`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSync(cmd.Context(), g, o)
		},
	}
	fs := cmd.Flags()
	o.source.addFlags(fs)
	o.target.addFlags(fs)
	fs.StringVar(&o.source.userRoot, "source-user-root", "", "only the folders under this root (Courier/Oracle virtual shared folders, e.g. /users/terry.adams)")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM file of certificate authorities to trust, in addition to the system's")
	fs.BoolVar(&o.insecure, "insecure-skip-verify", false, "do not verify TLS certificates (tests only: anyone on the path can read the passwords)")
	fs.StringVar(&o.state, "state", "", "sync state file (default: under --data-dir, named after both servers and users)")
	fs.StringArrayVar(&o.exclude, "exclude-folder", nil, "do not migrate this folder (case-insensitive, relative to the mailbox root; 'Name/*' for a subtree); repeatable")
	fs.BoolVar(&o.dryRun, "dry-run", false, "show the folder mapping and count what would be copied; change nothing")
	fs.IntVar(&o.parallelFolders, "parallel-folders", 2, "folders copied at once (each uses one source and two target connections)")
	fs.StringVar(&o.maxMessageSize, "max-message-size", "35MB", "skip (and report) larger messages")
	fs.IntVar(&o.maxItems, "max-items", 500000, "at most this many messages per mailbox; the rest are skipped and reported")
	fs.BoolVar(&o.copyDeleted, "copy-deleted", false, "also copy messages flagged \\Deleted (pending expunge), which are skipped by default")
	return cmd
}

func runSync(ctx context.Context, g *globalOptions, o *syncOptions) error {
	if err := g.validateOutput(); err != nil {
		return err
	}
	log, err := newLogger(g.stderr, g.logLevel)
	if err != nil {
		return withExit(ExitUsage, err)
	}
	srcCfg, err := o.source.config(o, g.stdin)
	if err != nil {
		return withExit(ExitUsage, err)
	}
	tgtCfg, err := o.target.config(o, g.stdin)
	if err != nil {
		return withExit(ExitUsage, err)
	}
	for _, cfg := range []*imapconn.Config{srcCfg, tgtCfg} {
		if w := imapconn.CleartextWarning(cfg.Security, cfg.Name, cfg.Address(), "--"+cfg.Name+"-security"); w != "" {
			log.Warn(w)
		}
	}
	maxSize, err := parseSize(o.maxMessageSize)
	if err != nil {
		return withExit(ExitUsage, fmt.Errorf("--max-message-size: %w", err))
	}
	sopts := syncer.Options{
		ParallelFolders: o.parallelFolders, MaxMessageSize: maxSize, MaxItems: o.maxItems,
		Exclude: o.exclude, UserRoot: o.source.userRoot, CopyDeleted: o.copyDeleted, DryRun: o.dryRun,
	}
	if err := sopts.Validate(); err != nil {
		return withExit(ExitUsage, err)
	}

	key := pairKey(srcCfg, tgtCfg)
	path := o.state
	if path == "" {
		sum := sha256.Sum256([]byte(key))
		path = filepath.Join(g.dataDir, "state", hex.EncodeToString(sum[:12])+".db")
	}
	if o.dryRun {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			// A dry run creates nothing: read an empty, temporary state.
			dir, err := os.MkdirTemp("", "imapmigrate-dry-run-")
			if err != nil {
				return withExit(ExitUsage, err)
			}
			defer os.RemoveAll(dir)
			path = filepath.Join(dir, "state.db")
		}
	}
	// One writer per state: a second sync on it (a double start, an
	// overlapping cron job) would copy everything again.
	release, err := store.LockFile(path)
	if err != nil {
		return withExit(ExitUsage, err)
	}
	defer release()
	st, err := store.OpenSQLite(ctx, path)
	if err != nil {
		return withExit(ExitUsage, err)
	}
	defer st.Close()
	mbox, err := st.State(ctx, key)
	if err != nil {
		return withExit(ExitUsage, err)
	}

	prog := newProgress(g.stderr, g.output == "text")
	s := &syncer.Syncer{
		Source:  &imapconn.Factory{Config: srcCfg, Log: log},
		Target:  &imapconn.Factory{Config: tgtCfg, Log: log},
		State:   mbox,
		Options: sopts,
		Log:     log,
		OnEvent: prog.event,
	}
	log.Info("sync starting", "source", srcCfg.Address(), "source_user", srcCfg.User, "target", tgtCfg.Address(), "target_user", tgtCfg.User, "state", path)
	prog.start()
	res, runErr := s.Run(ctx)
	prog.stop()

	if runErr != nil && (res == nil || len(res.Folders) == 0 || errors.Is(runErr, syncer.ErrAborted)) {
		if g.output == "json" && res != nil {
			printSyncJSON(g.stdout, res, path, runErr)
		}
		return withExit(ExitUsage, runErr)
	}
	if g.output == "json" {
		printSyncJSON(g.stdout, res, path, runErr)
	} else {
		printSyncText(g.stdout, res, path)
	}
	if runErr != nil {
		return withExit(ExitPartial, runErr)
	}
	if res.FoldersFailed > 0 || res.SkippedTotal() > 0 {
		return withExit(ExitPartial, nil)
	}
	return nil
}

// pairKey names a mailbox pair; it holds no secret.
func pairKey(src, tgt *imapconn.Config) string {
	return fmt.Sprintf("imap://%s@%s -> imap://%s@%s", src.User+authzSuffix(src), src.Address(), tgt.User+authzSuffix(tgt), tgt.Address())
}

func authzSuffix(c *imapconn.Config) string {
	if c.Authzid == "" {
		return ""
	}
	return ";authzid=" + c.Authzid
}

// parseSize is migration.ParseSize, its error naming the value as written.
func parseSize(s string) (int64, error) {
	n, err := migration.ParseSize(s)
	if err != nil {
		return 0, fmt.Errorf("%q is %w", s, err)
	}
	return n, nil
}

func printSyncJSON(w io.Writer, res *syncer.Result, state string, runErr error) {
	out := struct {
		*syncer.Result
		Skipped         int     `json:"ItemsSkipped"`
		SkippedBy       any     `json:"SkippedByReason"`
		DurationSeconds float64 `json:"DurationSeconds"`
		MessagesPerSec  float64 `json:"MessagesPerSecond"`
		MiBPerSec       float64 `json:"MiBPerSecond"`
		State           string  `json:"State"`
		Error           string  `json:"Error,omitempty"`
	}{Result: res, Skipped: res.SkippedTotal(), SkippedBy: res.Skipped, State: state}
	if out.SkippedBy == nil {
		out.SkippedBy = map[string]int{}
	}
	secs := res.Duration.Seconds()
	out.DurationSeconds = secs
	if secs > 0 {
		out.MessagesPerSec = float64(res.Copied) / secs
		out.MiBPerSec = float64(res.Bytes) / (1 << 20) / secs
	}
	if runErr != nil {
		out.Error = runErr.Error()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}
