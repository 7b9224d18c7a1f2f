#!/usr/bin/env bash
# Installs the load generators the HTTP/gRPC benchmarks drive (wrk, h2load) when missing.
# Benchmarks run on demand, never in CI; see docs/performance.md.
set -euo pipefail

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v h2load >/dev/null || missing+=(nghttp2-client)
command -v taskset >/dev/null || missing+=(util-linux)

if ((${#missing[@]} == 0)); then
    echo "bench tools present: $(command -v wrk) $(command -v h2load)"
    exit 0
fi

sudo=()
if ((EUID != 0)); then
    sudo=(sudo)
fi
echo "installing: ${missing[*]}"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${missing[@]}"
