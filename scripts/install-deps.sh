#!/usr/bin/env bash
# Installs the Debian packages that the real-server tests and the benchmark
# need, when they are missing. Safe to run again; needs root (or sudo).
set -euo pipefail
need=()
command -v dovecot >/dev/null 2>&1 || need+=(dovecot-imapd)
command -v mbsync  >/dev/null 2>&1 || need+=(isync)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/time ]                || need+=(time)   # the benchmark's peak RSS (GNU time %M)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
