#!/usr/bin/env bash
# System packages that CI needs, from Debian's archive (never downloaded by a test tool):
#   chromium        the browser test (tests/serve/test_browser.py launches /usr/bin/chromium)
#   postgresql      the durable-state test on PostgreSQL (scripts/start_postgres.sh)
#   fonts-noto-cjk  Korean glyphs, so the browser's screenshots are readable
#
#   scripts/install_ci_packages.sh          install what is missing (apt-get; root or sudo)
#
# Idempotent: packages already installed are left alone, and a second run installs nothing.
# Without root (and without password-less sudo), or without apt-get, it says what to run and
# exits 0: the tests that need these packages skip and say why.
# Debian only: on Ubuntu `chromium` is a transitional package for a snap, which CI cannot run;
# use a Debian image (e.g. python:3.11-bookworm).
set -euo pipefail

PACKAGES=(chromium postgresql fonts-noto-cjk)

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install_ci_packages: already installed: ${PACKAGES[*]}"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_ci_packages: skipped: no apt-get here (not Debian); install ${missing[*]} by hand," \
         "or the browser and PostgreSQL tests will skip" >&2
    exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo)
    else
        echo "install_ci_packages: skipped: not root; run as root:" \
             "apt-get update && apt-get install -y ${missing[*]}" \
             "(until then the browser and PostgreSQL tests skip)" >&2
        exit 0
    fi
fi

echo "install_ci_packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null

if [[ -x /usr/bin/chromium ]]; then
    # Debian's wrapper script prints a harmless shell warning on some systems; keep only the version.
    echo "install_ci_packages: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium installed')"
fi
initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -n "$initdb" ]]; then
    echo "install_ci_packages: PostgreSQL $("$initdb" --version | awk '{print $NF}')"
fi
