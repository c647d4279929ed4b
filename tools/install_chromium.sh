#!/bin/sh
# Install Debian's Chromium (used by tests/test_site.py) if it is missing.
#
# Idempotent and quiet: does nothing when a Chromium is already there.
# Runs apt-get directly as root, through sudo otherwise (when available).
# Never fails the caller: where Chromium cannot be installed it prints a
# note and exits 0 -- the browser test then skips with its own reason.
# Set NNREF_REQUIRE_CHROMIUM=1 to turn an installation failure into exit 1.
set -u

note() { printf 'install_chromium: %s\n' "$*" >&2; }

give_up() {
    note "$1"
    note "tests/test_site.py will skip its browser check."
    if [ "${NNREF_REQUIRE_CHROMIUM:-0}" = "1" ]; then
        exit 1
    fi
    exit 0
}

if [ -n "${NNREF_CHROMIUM:-}" ] && [ -x "${NNREF_CHROMIUM}" ]; then
    exit 0
fi
if [ -x /usr/bin/chromium ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    give_up "apt-get not found; install Chromium yourself and set NNREF_CHROMIUM to its path."
fi

if [ "$(id -u)" = "0" ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    SUDO="sudo -n"
else
    give_up "not root and no password-less sudo; cannot run apt-get."
fi

log="${TMPDIR:-/tmp}/nnref-install-chromium.$$.log"
note "installing chromium with apt-get (log: $log)"
if $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 &&
   $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >>"$log" 2>&1 &&
   [ -x /usr/bin/chromium ]; then
    rm -f "$log"
    exit 0
fi

tail -n 20 "$log" >&2 2>/dev/null
give_up "apt-get could not install chromium (see $log)."
