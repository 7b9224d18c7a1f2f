#!/usr/bin/env bash
# Runs uv (the installer behind `make venv` / `make run`) configured like this machine's pip.
#
#   bash scripts/uv.sh sync --frozen ...      what the Makefile does
#   bash scripts/uv.sh lock                   regenerate uv.lock after editing pyproject.toml
#
# uv comes from, in this order: $UV (a path), the pinned copy in .uv/ (installed there on first
# use with this machine's pip, from PyPI), nothing else: a uv found on PATH may be of another
# version and write a lockfile older uv cannot read.
#
# pip's configuration (`pip config list`, PIP_* variables) is translated for uv, because uv does
# not read pip.conf: the CA bundle (cert → SSL_CERT_FILE), the timeout (default-timeout →
# UV_HTTP_TIMEOUT) and a replaced main index (index-url → UV_DEFAULT_INDEX). pip's
# extra-index-url and find-links are deliberately not passed on: on these machines they are
# local copies of files that are on PyPI, and uv.lock must name PyPI's URLs (with their sha256)
# so that the same lockfile installs on any machine. uv never downloads a Python: it uses
# $PYTHON (python3 by default) for .venv.
set -euo pipefail

UV_VERSION=0.13.9
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
TOOLS="$ROOT/.uv"

die() {
    printf 'scripts/uv.sh: %s\n' "$*" >&2
    exit 1
}

pip_setting() {
    # $1: pip config key (global.cert); prints the value pip would use, or nothing.
    sed -n "s/^[^.]*\.${1#global.}='\(.*\)'\$/\1/p" <<<"$PIP_CONFIG" | tail -n 1
}

find_uv() {
    if [[ -n "${UV:-}" ]]; then
        printf '%s\n' "$UV"
        return
    fi
    local pinned="$TOOLS/bin/uv"
    if [[ -x "$pinned" ]] && [[ "$("$pinned" --version 2>/dev/null)" == "uv $UV_VERSION"* ]]; then
        printf '%s\n' "$pinned"
        return
    fi
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found; set PYTHON=/path/to/python3.11+"
    echo "scripts/uv.sh: installing uv $UV_VERSION into .uv/ with $PYTHON -m pip" >&2
    rm -rf "$TOOLS"
    if "$PYTHON" -m pip --version >/dev/null 2>&1; then
        # --target: no venv needed, and pip's PEP 668 guard does not apply to a target folder.
        "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
            --target "$TOOLS" "uv==$UV_VERSION" 2>&1 | grep -v 'is ignored: it is neither' >&2 || true
    else
        "$PYTHON" -m venv "$TOOLS/venv" || die "$PYTHON has neither pip nor venv; install uv and set UV=/path/to/uv"
        "$TOOLS/venv/bin/pip" install --quiet "uv==$UV_VERSION"
        mkdir -p "$TOOLS/bin"
        ln -sf "$TOOLS/venv/bin/uv" "$TOOLS/bin/uv"
    fi
    [[ -x "$pinned" ]] || die "installing uv $UV_VERSION failed (see above)"
    printf '%s\n' "$pinned"
}

PIP_CONFIG="$("$PYTHON" -m pip config list 2>/dev/null || true)"
cert="${PIP_CERT:-$(pip_setting global.cert)}"
timeout="${PIP_DEFAULT_TIMEOUT:-$(pip_setting global.default-timeout)}"
index="${PIP_INDEX_URL:-$(pip_setting global.index-url)}"
if [[ -n "$cert" && -z "${SSL_CERT_FILE:-}" ]]; then export SSL_CERT_FILE="$cert"; fi
if [[ -n "$timeout" && -z "${UV_HTTP_TIMEOUT:-}" ]]; then export UV_HTTP_TIMEOUT="$timeout"; fi
if [[ -n "$index" && -z "${UV_DEFAULT_INDEX:-}" ]]; then export UV_DEFAULT_INDEX="$index"; fi

export UV_PYTHON="${UV_PYTHON:-$PYTHON}"
export UV_PYTHON_DOWNLOADS=never
export UV_PROJECT_ENVIRONMENT="${UV_PROJECT_ENVIRONMENT:-$ROOT/.venv}"

uv="$(find_uv)"
cd "$ROOT"
exec "$uv" "$@"
