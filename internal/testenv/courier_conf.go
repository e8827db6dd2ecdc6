package testenv

import "text/template"

// courierConfig is everything the files under etc/ and courier.sh are
// rendered from.
type courierConfig struct {
	Dir, Root, EtcDir, RunDir, NSDir string
	Host                             string
	Port, TLSPort                    int
	MaxPerIP, MaxDaemons             int
	// BindModules: the host has a /usr/lib/courier-authlib of its own, so
	// the extracted one is bind-mounted over it (otherwise libltdl finds
	// the extracted modules through LD_LIBRARY_PATH).
	BindModules bool
	UseLocks    bool
	Debug       bool
	Extra       string
}

// courierCapability is Debian's IMAP_CAPABILITY plus AUTH=PLAIN, which
// Debian announces only after STARTTLS (IMAP_CAPABILITY_TLS). Courier adds
// ACL ACL2=UNION (IMAP_ACL=1), STARTTLS (before TLS), ENABLE and
// UTF8=ACCEPT itself.
const courierCapability = "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE AUTH=PLAIN"

// courierImapdTemplate is /etc/courier/imapd: Debian's settings (courier-imap
// 5.0.13), except where a comment says otherwise. courier.sh sources it with
// set -a, as Debian's /usr/sbin/imapd does.
var courierImapdTemplate = template.Must(template.New("imapd").Parse(`# Written by imapmigrate internal/testenv: a private, throw-away Courier IMAP.
# Debian's /etc/courier/imapd, except where a comment says otherwise.
ADDRESS={{.Host}}
PORT={{.Port}}
# Debian: 40 processes, 20 connections per IP (Courier's own default is 4).
# Tests open many connections at once.
MAXDAEMONS={{.MaxDaemons}}
MAXPERIP={{.MaxPerIP}}
TCPDOPTS="-nodnslookup -noidentlookup"
# Debian's list plus AUTH=PLAIN, which Debian announces only after STARTTLS
# (IMAP_CAPABILITY_TLS, left out): SASL PLAIN works on the plain port too.
IMAP_CAPABILITY="` + courierCapability + `"
IMAP_KEYWORDS=1
IMAP_ACL=1
IMAP_PROXY=0
IMAP_PROXY_FOREIGN=0
IMAP_IDLE_TIMEOUT=60
IMAP_MAILBOX_SANITY_CHECK=1
IMAP_DISABLETHREADSORT=0
IMAP_CHECK_ALL_FOLDERS=0
IMAP_OBSOLETE_CLIENT=0
IMAP_UMASK=022
IMAP_ULIMITD=131072
{{- if .UseLocks}}
IMAP_USELOCKS=1
{{- else}}
# Debian: 1 (CourierOptions.UseLocks). Every scan of a folder (SELECT, APPEND,
# NOOP...) then takes tmp/courier.lock, retried once a second: concurrent
# sessions on one folder queue for seconds, minutes on a loaded machine.
IMAP_USELOCKS=0
{{- end}}
IMAP_SHAREDINDEXFILE=/etc/courier/shared/index
IMAP_ENHANCEDIDLE=0
IMAP_TRASHFOLDERNAME=Trash
IMAP_EMPTYTRASH=Trash:7
IMAP_MOVE_EXPUNGE_TO_TRASH=0
SENDMAIL=/usr/sbin/sendmail
HEADERFROM=X-IMAP-Sender
MAILDIRPATH=Maildir
`))

// courierImapdSSLTemplate is /etc/courier/imapd-ssl.
var courierImapdSSLTemplate = template.Must(template.New("imapd-ssl").Parse(`# Written by imapmigrate internal/testenv: a private, throw-away Courier IMAP.
# Debian's /etc/courier/imapd-ssl, except where a comment says otherwise.
SSLPORT={{.TLSPort}}
SSLADDRESS={{.Host}}
IMAPDSTARTTLS=YES
IMAP_TLS_REQUIRED=0
COURIERTLS={{.Root}}/usr/bin/couriertls
TLS_STARTTLS_PROTOCOL="$TLS_PROTOCOL"
# The test CA's server certificate and its key in one PEM file, owned by
# courier and mode 0600, as couriertls (GnuTLS) wants it.
TLS_CERTFILE=/etc/courier/imapd.pem
# Left out: TLS_DHPARAMS (Debian generates dhparams.pem at install, which
# takes seconds; the ECDSA certificate needs none) and TLS_TRUSTCERTS (only
# used to verify client certificates, which TLS_VERIFYPEER=NONE never asks for).
TLS_VERIFYPEER=NONE
# Debian: /var/lib/courier/couriersslpop3cache.
TLS_CACHEFILE=/run/courier/couriersslimapcache
TLS_CACHESIZE=524288
MAILDIRPATH=Maildir
`))

// courierAuthdaemonrcTemplate is /etc/courier/authdaemonrc: Debian's, with
// the userdb module instead of PAM.
var courierAuthdaemonrcTemplate = template.Must(template.New("authdaemonrc").Parse(`# Written by imapmigrate internal/testenv: a private, throw-away Courier IMAP.
# Debian: authmodulelist="authpam". Accounts live in /etc/courier/userdb.dat.
authmodulelist="authuserdb"
authmodulelistorig="authuserdb authpam authpgsql authldap authmysql authsqlite authcustom authpipe"
daemons=5
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN={{if .Debug}}1{{else}}0{{end}}
DEFAULTOPTIONS=""
LOGGEROPTS=""
`))

// courierExtraTemplate is /etc/courier/imapd-testenv, sourced after imapd and
// imapd-ssl.
var courierExtraTemplate = template.Must(template.New("imapd-testenv").Parse(`# Written by imapmigrate internal/testenv: CourierOptions.ExtraConfig,
# sourced after imapd and imapd-ssl, so its settings win.
{{.Extra}}
`))

// courierScriptTemplate is courier.sh, run by unshare(1) as PID 1 of new
// mount and PID namespaces. It bind-mounts the instance's files over the
// paths compiled into Courier, then starts what Debian's three init scripts
// start (authdaemond, imapd, imapd-ssl), without courierlogger: every
// process writes to courier.log.
var courierScriptTemplate = template.Must(template.New("courier.sh").Parse(`#!/bin/bash
# Written by imapmigrate internal/testenv: a private, throw-away Courier IMAP.
# Run by unshare --mount --pid as PID 1 of its own namespaces; the mounts
# below are seen by this instance only, and when this script exits the
# kernel kills every process left in the namespace.
set -e
mount --bind {{.EtcDir}} /etc/courier
mount --bind {{.RunDir}} /run/courier
# The courier account (Debian's courier-base creates it; STARTTLS and the
# TLS listener drop to it) exists in this namespace only.
mount --bind {{.NSDir}}/passwd /etc/passwd
mount --bind {{.NSDir}}/group /etc/group
{{- if .BindModules}}
mount --bind {{.Root}}/usr/lib/courier-authlib /usr/lib/courier-authlib
{{- end}}

# Stop sends SIGTERM to the process group; PID 1 receives it only with a
# handler. It does not wait for the jobs: bash's wait can block on orphans
# that became PID 1's children (gam_server, started by imapd), and Courier
# keeps nothing a slower exit would save (maildir writes are renames).
# Exiting ends the namespace, and the kernel kills what is left.
trap 'kill -TERM $(jobs -p) 2>/dev/null; exit 0' TERM

# /usr/sbin/authdaemond start
(set -a; . /etc/courier/authdaemonrc; exec {{.Root}}/usr/lib/courier/courier-authlib/authdaemond) &

# /usr/sbin/imapd start and /usr/sbin/imapd-ssl start
set -a
. /etc/courier/imapd
. /etc/courier/imapd-ssl
{{- if .Extra}}
. /etc/courier/imapd-testenv
{{- end}}
set +a
rm -f "$TLS_CACHEFILE"
touch "$TLS_CACHEFILE"
chown courier:courier "$TLS_CACHEFILE"
chmod 600 "$TLS_CACHEFILE"
umask "$IMAP_UMASK"
ulimit -v "$IMAP_ULIMITD"
IMAP_STARTTLS=$IMAPDSTARTTLS {{.Root}}/usr/sbin/couriertcpd -address=$ADDRESS \
	-maxprocs=$MAXDAEMONS -maxperip=$MAXPERIP $TCPDOPTS $PORT \
	{{.Root}}/usr/lib/courier/courier/imaplogin {{.Root}}/usr/bin/imapd $MAILDIRPATH &
IMAP_TLS=1 {{.Root}}/usr/sbin/couriertcpd -address=$SSLADDRESS \
	-maxprocs=$MAXDAEMONS -maxperip=$MAXPERIP $TCPDOPTS $SSLPORT \
	$COURIERTLS -server -tcpd -user=courier \
	{{.Root}}/usr/lib/courier/courier/imaplogin {{.Root}}/usr/bin/imapd $MAILDIRPATH &

# The first process to exit ends the instance.
set +e
wait -n
status=$?
echo "testenv: a Courier process exited (status $status); stopping the instance" >&2
exit $status
`))
