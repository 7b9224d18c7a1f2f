#!/usr/bin/env bash
# Regenerate the committed protobuf code from protos/ (betterproto 2 for grpclib) and the
# descriptor sets gRPC server reflection needs (betterproto registers no descriptors).
#
#   bash scripts/protos.sh          regenerate in place
#   bash scripts/protos.sh --check  regenerate into a temporary folder and fail (exit 1) when
#                                   the committed code differs: CI's "stale code" check
#
# Needs the `protos` dependency group (grpcio-tools, betterproto[compiler]); `make venv`
# installs it. Generated code is committed, so the runtime never needs a compiler.
#
# Targets (proto files → output package, with descriptors.binpb next to its __init__.py):
#   protos/servicepkg/testing/v1/*.proto → src/service_pkg/grpc/_testing/gen/
#   protos/links/v1/*.proto              → example_service/proto/
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
PLUGIN="$(dirname "$PY")/protoc-gen-python_betterproto"
CHECK=0
if [[ "${1:-}" == "--check" ]]; then
    CHECK=1
elif [[ $# -gt 0 ]]; then
    printf 'usage: %s [--check]\n' "$0" >&2
    exit 2
fi
[[ -x "$PY" ]] || { printf 'protos.sh: %s not found; run make venv\n' "$PY" >&2; exit 1; }
[[ -x "$PLUGIN" ]] || {
    printf "protos.sh: %s not found; install the protos group: pip install --group protos\n" \
        "$PLUGIN" >&2
    exit 1
}

TARGETS=(
    "servicepkg/testing/v1:src/service_pkg/grpc/_testing/gen"
    "links/v1:example_service/proto"
)

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

generate() { # generate <proto dir under protos/> <output dir>
    local protos=("$ROOT/protos/$1"/*.proto) out="$2"
    mkdir -p "$out"
    local log
    # The plugin prints "Writing <file>" per file; show its output only when it fails.
    if ! log="$(cd "$ROOT/protos" && "$PY" -m grpc_tools.protoc -I . \
        --plugin=protoc-gen-python_betterproto="$PLUGIN" \
        --python_betterproto_out="$out" \
        --descriptor_set_out="$out/descriptors.binpb" --include_imports \
        "${protos[@]#"$ROOT/protos/"}" 2>&1)"; then
        printf 'protos.sh: protoc failed for protos/%s:\n%s\n' "$1" "$log" >&2
        exit 1
    fi
}

stale=0
for target in "${TARGETS[@]}"; do
    source_dir="${target%%:*}" dest="${target#*:}"
    fresh="$WORK/$dest"
    generate "$source_dir" "$fresh"
    if [[ $CHECK -eq 1 ]]; then
        if ! diff -r "$fresh" "$ROOT/$dest" -x __pycache__ >/dev/null 2>&1; then
            printf 'protos.sh: %s is stale: run bash scripts/protos.sh and commit the result\n' \
                "$dest" >&2
            diff -r "$fresh" "$ROOT/$dest" -x __pycache__ >&2 || true
            stale=1
        fi
    else
        rm -rf "${ROOT:?}/$dest"
        mkdir -p "$(dirname "$ROOT/$dest")"
        cp -r "$fresh" "$ROOT/$dest"
        printf 'protos.sh: wrote %s\n' "$dest"
    fi
done
exit $stale
