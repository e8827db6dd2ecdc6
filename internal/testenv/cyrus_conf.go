package testenv

import "text/template"

// cyrusConfig is everything imapd.conf, cyrus.conf and the start script are
// rendered from.
type cyrusConfig struct {
	Dir, ConfDir, SpoolDir, SieveDir, SASLDB string
	ImapdConf, CyrusConf                     string
	Imapd                                    string
	CertFile, KeyFile                        string
	Host                                     string
	Port, TLSPort                            int
	SyslogPrefix                             string
	// User and Group are cyrus_user and cyrus_group: the account master
	// runs as (the mail user when started as root, else the invoking user).
	User, Group                    string
	Admin                          string
	AltNamespace, UnixHierarchySep bool

	Debug bool
	Extra string
}

// cyrusServername is imapd.conf's servername. It is also the SASL realm
// saslpasswd2 stores accounts under: imapd calls sasl_server_new with
// servername and no user realm, so Cyrus SASL looks users up in it. Setting
// it keeps both sides off gethostname and DNS.
const cyrusServername = "localhost"

var cyrusFuncs = template.FuncMap{
	"yesno": func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	},
}

var imapdConfTemplate = template.Must(template.New("imapd.conf").Funcs(cyrusFuncs).Parse(`# Written by imapmigrate internal/testenv: a private, throw-away Cyrus.
# Everything lives under {{.Dir}}; see the package documentation.
configdirectory: {{.ConfDir}}
defaultpartition: default
partition-default: {{.SpoolDir}}
sievedir: {{.SieveDir}}
servername: ` + cyrusServername + `
syslog_prefix: {{.SyslogPrefix}}
# master switches to this account when started as root (the compiled-in
# "cyrus" does not exist on a machine where no cyrus package was installed).
cyrus_user: {{.User}}
cyrus_group: {{.Group}}

# As in Debian's /etc/imapd.conf (altnamespace and unixhierarchysep are
# CyrusOptions.AltNamespace and UnixHierarchySep).
altnamespace: {{yesno .AltNamespace}}
unixhierarchysep: {{yesno .UnixHierarchySep}}
hashimapspool: true
umask: 077
allowanonymouslogin: no
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auto_transition: no

# Accounts: a private sasldb, written with saslpasswd2 -f.
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {{.SASLDB}}
# What is offered must not depend on the SASL plugins installed.
sasl_mech_list: PLAIN LOGIN
# The admin creates INBOXes (CREATE user{{if .UnixHierarchySep}}/{{else}}.{{end}}name) and, as a proxy server,
# logs in as any user with SASL PLAIN authzid=user, authcid=admin.
admins: {{.Admin}}
proxyservers: {{.Admin}}
# A failed login answers at once instead of after 3 s.
failedloginpause: 0

# A port another process took makes master exit (EX_UNAVAILABLE), so that
# Start can try new ones, instead of running without the listener.
master_bind_errors_fatal: yes
tls_server_cert: {{.CertFile}}
tls_server_key: {{.KeyFile}}
{{- if .Debug}}
debug: yes
chatty: yes
auditlog: yes
{{- end}}
{{- if .Extra}}

# CyrusOptions.ExtraConfig
{{.Extra}}
{{- end}}
`))

// cyrusConfTemplate runs IMAP only: no pop3d, nntpd, httpd, lmtpd, timsieved,
// idled or notifyd, and no START or EVENTS entries (a new configdirectory
// needs no database recovery, and a test ends before any expiry would run).
// Without idled, IDLE polls every imapidlepoll (60 s) as Cyrus does when
// idled is not running.
var cyrusConfTemplate = template.Must(template.New("cyrus.conf").Parse(`# Written by imapmigrate internal/testenv; see imapd.conf.
SERVICES {
  imap  cmd="{{.Imapd}} -C {{.ImapdConf}} -U 30" listen="{{.Host}}:{{.Port}}" proto=tcp4 prefork=0
  imaps cmd="{{.Imapd}} -s -C {{.ImapdConf}} -U 30" listen="{{.Host}}:{{.TLSPort}}" proto=tcp4 prefork=0
}
`))

// cyrusRootScript starts master when the test runs as root. It runs in a
// private mount namespace (SysProcAttr.Unshareflags) when the kernel allows
// one, and there gives Cyrus a /dev/log of its own: a tmpfs over /dev that
// links every entry of the real /dev (bind-mounted under run/hostdev) plus
// log, which points to the unix socket testenv reads into cyrus.log. Cyrus
// logs only to syslog (imapd's stderr is the client's socket), so without it
// its messages, master's fatal errors included, would be lost or end up in
// the machine's own syslog. Nothing outside the namespace sees these mounts,
// and they vanish with its last process.
//
// Then it drops to the mail user with setpriv and execs master: master's own
// switch to cyrus_user would clear the parent-death signal (the kernel clears
// it on a change of credentials), setpriv sets it again after the switch.
//
// Arguments: dir, uid, gid, then master's command line.
const cyrusRootScript = `set -u
dir=$1 uid=$2 gid=$3
shift 3
private_dev() {
	host=$dir/run/hostdev
	mount --rbind /dev "$host" || return 1
	mount -t tmpfs -o mode=0755,size=1m,nosuid testenv-dev /dev || return 1
	# One ln for all (one per entry costs a fork each, ~100 ms in all).
	if ! { ln -s "$host"/* /dev/ && rm -f /dev/log && ln -s "$dir/run/syslog" /dev/log; }; then
		umount /dev
		return 1
	fi
}
if [ "${TESTENV_PRIVATE_DEV:-}" = 1 ] && ! private_dev; then
	echo "testenv: no private /dev/log; Cyrus's syslog messages are not in cyrus.log" >&2
fi
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --pdeathsig=TERM -- "$@"
`

// cyrusOpenSSLConf is the OPENSSL_CONF Cyrus runs with, instead of the
// system's openssl.cnf: OpenSSL's defaults except that a TLS 1.3 server
// sends no session tickets. imapd does not set TCP_NODELAY, so the second
// ticket waits for the client's delayed ACK (40 ms on Linux) and holds back
// the greeting behind it on the implicit-TLS port: 50 ms per connection
// instead of 3. Nothing in IMAP depends on resumption.
const cyrusOpenSSLConf = `# Written by imapmigrate internal/testenv.
openssl_conf = testenv_init
[testenv_init]
ssl_conf = testenv_ssl
[testenv_ssl]
system_default = testenv_tls
[testenv_tls]
NumTickets = 0
`
