package testenv

import "text/template"

// dovecotConfig is everything dovecot.conf is rendered from.
type dovecotConfig struct {
	Dir, BaseDir, StateDir, LogPath, MailRoot, UsersDir, MasterFile string
	Instance                                                        string
	CertFile, KeyFile                                               string
	Host                                                            string
	Port, TLSPort                                                   int
	Separator                                                       string
	LayoutSuffix                                                    string // ":LAYOUT=fs" or ""
	MasterSeparator                                                 string
	MaxUserIPConnections                                            int
	SpecialUseAuto                                                  string // "no" or "subscribe"
	MailFsync                                                       string // "never" or "optimized"

	// Root: mail processes run as MailUID:MailGID. Otherwise rootless: every
	// process runs as the invoking user, Self, without chroot.
	Root             bool
	MailUID, MailGID int
	Self, SelfGroup  string
	SelfUID          int

	Debug bool
	Extra string
}

// specialUseFolders are the folders announced with SPECIAL-USE attributes
// (RFC 6154). Their names are the ones Dovecot's own example configuration
// uses, which most clients recognise.
var specialUseFolders = []struct{ Name, Use string }{
	{"Drafts", `\Drafts`},
	{"Sent", `\Sent`},
	{"Trash", `\Trash`},
	{"Junk", `\Junk`},
	{"Archive", `\Archive`},
}

var dovecotConfTemplate = template.Must(template.New("dovecot.conf").Funcs(template.FuncMap{
	"specialUse": func() any { return specialUseFolders },
}).Parse(`# Written by imapmigrate internal/testenv: a private, throw-away instance.
# Everything lives under {{.Dir}}; see the package documentation.
protocols = imap
listen = {{.Host}}
instance_name = {{.Instance}}
base_dir = {{.BaseDir}}
state_dir = {{.StateDir}}
log_path = {{.LogPath}}
info_log_path = {{.LogPath}}
debug_log_path = {{.LogPath}}

ssl = yes
ssl_cert = <{{.CertFile}}
ssl_key = <{{.KeyFile}}
ssl_min_protocol = TLSv1.2
# LOGIN and AUTHENTICATE PLAIN are accepted on the plain port too.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = {{.MasterSeparator}}
# Failed logins answer at once so auth-error tests are fast: no fixed delay
# (default 2 s), and no auth penalty (anvil-auth-penalty below), which would
# delay every later attempt from an IP that failed by 4, 8, then 15 s.
auth_failure_delay = 0
auth_verbose = yes
{{- if .Debug}}
auth_debug = yes
mail_debug = yes
verbose_ssl = yes
{{- end}}

mail_location = maildir:{{.MailRoot}}/%u{{.LayoutSuffix}}
# "never" unless DovecotOptions.Fsync: test data is thrown away.
mail_fsync = {{.MailFsync}}
{{- if .Root}}
# Dovecot refuses mail access as uid 0: mail is owned by an unprivileged system
# account (DovecotOptions.MailUser).
mail_uid = {{.MailUID}}
mail_gid = {{.MailGID}}
first_valid_uid = {{.MailUID}}
first_valid_gid = {{.MailGID}}
{{- else}}
# Rootless: every process runs as {{.Self}}, nothing is chrooted.
default_internal_user = {{.Self}}
default_internal_group = {{.SelfGroup}}
default_login_user = {{.Self}}
first_valid_uid = {{.SelfUID}}
{{- end}}

service anvil {
{{- if not .Root}}
  chroot =
{{- end}}
  # Nobody may connect, which turns the auth penalty off.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

namespace inbox {
  inbox = yes
  prefix =
  separator = {{.Separator}}
{{- range specialUse}}
  mailbox {{.Name}} {
    special_use = {{.Use}}
    auto = {{$.SpecialUseAuto}}
  }
{{- end}}
}

# Master users (auth_master_user_separator): user{{.MasterSeparator}}master + master password, or
# SASL PLAIN with authzid=user, authcid=master. pass = yes then checks that the
# user exists in the ordinary passdb.
passdb {
  driver = passwd-file
  master = yes
  pass = yes
  args = scheme=PLAIN {{.MasterFile}}
}
# One passwd-file per user: a file Dovecot has not seen is read on the first
# lookup, so AddUser takes effect at once (one shared file is re-read only when
# its mtime or size changes, at most once a second).
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {{.UsersDir}}/%u
}
userdb {
  driver = passwd-file
  args = username_format=%u {{.UsersDir}}/%u
}

service imap-login {
{{- if not .Root}}
  chroot =
{{- end}}
  # Each TLS connection keeps its login process as a proxy; the default
  # limit (100) would cap a benchmark's TLS connections.
  process_limit = 1000
  inet_listener imap {
    address = {{.Host}}
    port = {{.Port}}
  }
  inet_listener imaps {
    address = {{.Host}}
    port = {{.TLSPort}}
    ssl = yes
  }
}

protocol imap {
  mail_max_userip_connections = {{.MaxUserIPConnections}}
}
{{- if .Extra}}

# DovecotOptions.ExtraConfig
{{.Extra}}
{{- end}}
`))
