#!/usr/bin/env bash
# Installs what the real-server tests and the benchmark need, when it is
# missing. Safe to run again; needs root (or sudo).
#
# Dovecot is installed as a package. Cyrus and Courier conflict with it as
# packages (all three provide imap-server), but their binaries run side by
# side: their .deb files are downloaded and extracted (dpkg-deb -x) into
# $IMAPMIGRATE_SERVERS_DIR/<server> (default /opt/imapmigrate-servers), and
# only the libraries they link are installed as packages. internal/testenv
# runs them from there with private configurations.
#
# Chromium (browser tests), Postfix (its smtp-sink, for the report e-mail
# tests) and Dovecot's submission service (SMTP AUTH and TLS in front of
# smtp-sink) are Debian packages.
#
# PostgreSQL is Debian's postgresql package. Its server binaries are not on
# PATH: they are in /usr/lib/postgresql/<major>/bin, where internal/testenv
# looks for them (newest major first; $IMAPMIGRATE_PG_BIN overrides), so
# that is what is checked here. The package's postinst may create and start
# a system cluster on port 5432; the tests never use it (each test process
# runs initdb into a temporary directory and starts its own server).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
servers_dir=${IMAPMIGRATE_SERVERS_DIR:-/opt/imapmigrate-servers}

# have_postgres: initdb and postgres in $IMAPMIGRATE_PG_BIN when set, else in
# some /usr/lib/postgresql/<major>/bin (not on PATH, so not command -v).
have_postgres() {
  local d
  if [ -n "${IMAPMIGRATE_PG_BIN:-}" ]; then
    [ -x "$IMAPMIGRATE_PG_BIN/initdb" ] && [ -x "$IMAPMIGRATE_PG_BIN/postgres" ]
    return
  fi
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && return 0
  done
  return 1
}

need=()
command -v dovecot     >/dev/null 2>&1 || need+=(dovecot-imapd)
command -v mbsync      >/dev/null 2>&1 || need+=(isync)
command -v openssl     >/dev/null 2>&1 || need+=(openssl)
command -v saslpasswd2 >/dev/null 2>&1 || need+=(sasl2-bin)        # Cyrus's password file
[ -x /usr/bin/time ]                   || need+=(time)             # the benchmark's peak RSS (GNU time %M)
command -v unshare     >/dev/null 2>&1 || need+=(util-linux)       # Courier runs in a mount namespace
command -v setpriv     >/dev/null 2>&1 || need+=(util-linux)       # Cyrus's master drops to the mail user
command -v mount       >/dev/null 2>&1 || need+=(mount)            # Cyrus gets a private /dev/log; Courier bind-mounts its files
[ -x /usr/libexec/gam_server ]         || need+=(gamin)            # Courier's imapd watches folders through it (courier-imap depends on it)
have_postgres                          || need+=(postgresql)       # initdb and postgres, in /usr/lib/postgresql/<major>/bin
ls /usr/lib/*/sasl2/libsasldb.so.2 >/dev/null 2>&1 || need+=(libsasl2-modules-db) # Cyrus's sasldb
ls /usr/lib/*/sasl2/libplain.so.2  >/dev/null 2>&1 || need+=(libsasl2-modules)    # SASL PLAIN and LOGIN
command -v chromium    >/dev/null 2>&1 || need+=(chromium fonts-liberation) # the dashboard's browser tests (chromedp)
[ -x /usr/sbin/smtp-sink ]             || need+=(postfix)          # smtp-sink: the SMTP server of the report e-mail tests
[ -x /usr/lib/dovecot/submission ]     || need+=(dovecot-submissiond) # SMTP AUTH and TLS in the report e-mail tests

# extracted packages, per server
cyrus_pkgs=(cyrus-imapd cyrus-common)
courier_pkgs=(courier-imap courier-base courier-authlib courier-authdaemon courier-authlib-userdb)

missing_servers=()
[ -f "$servers_dir/cyrus/.complete" ]   || missing_servers+=(cyrus)
[ -f "$servers_dir/courier/.complete" ] || missing_servers+=(courier)

[ ${#need[@]} -eq 0 ] && [ ${#missing_servers[@]} -eq 0 ] && exit 0

updated=""
apt_update() {
  [ -n "$updated" ] && return
  $SUDO apt-get update -qq
  updated=1
}
apt_install() {
  [ $# -eq 0 ] && return
  echo "installing: $*" >&2
  apt_update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Postfix is installed for its smtp-sink only: no mail system is configured
# (the tests start smtp-sink themselves, on a free port).
if [[ " ${need[*]} " == *" postfix "* ]]; then
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
fi
apt_install "${need[@]}"

# extract SERVER PKG...: download the packages, extract them into
# $servers_dir/SERVER, and install the libraries they depend on.
extract() {
  local server=$1; shift
  local dest="$servers_dir/$server" work
  work=$(mktemp -d)
  echo "extracting $server: $*" >&2
  apt_update
  (cd "$work" && apt-get download "$@" >/dev/null 2>&1) || (cd "$work" && $SUDO apt-get download "$@" >/dev/null)
  local libs=()
  for deb in "$work"/*.deb; do
    # Depends: "a (>= 1), b | c, ..." -> the lib* alternatives, first of each.
    while IFS= read -r dep; do
      dep=${dep%% *}
      case $dep in lib*) libs+=("$dep") ;; esac
    done < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/^ *//')
  done
  apt_install $(printf '%s\n' "${libs[@]}" | sort -u)
  $SUDO rm -rf "$dest.tmp"
  $SUDO mkdir -p "$dest.tmp"
  for deb in "$work"/*.deb; do
    $SUDO dpkg-deb -x "$deb" "$dest.tmp"
    dpkg-deb -f "$deb" Package Version | paste -sd' ' | $SUDO tee -a "$dest.tmp/.complete" >/dev/null
  done
  $SUDO rm -rf "$dest"
  $SUDO mv "$dest.tmp" "$dest"
  rm -rf "$work"
}

for s in "${missing_servers[@]}"; do
  case $s in
    cyrus)   extract cyrus "${cyrus_pkgs[@]}" ;;
    courier) extract courier "${courier_pkgs[@]}" ;;
  esac
done
