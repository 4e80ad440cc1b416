#!/usr/bin/env bash
# Builds go-ethereum's geth and bootnode at a pinned release from the Go module proxy, and prints
# the directory holding both binaries as the last line of its output.
# Idempotent: skips the build when the pinned geth exists and `geth version` reports the pinned
# release (a cold build takes about 3.5 minutes on two cores; a warm one returns at once).
#
#   GETH_BIN="$(bash scripts/geth.sh | tail -n1)"
#
# Settings (environment): GETH_VERSION (default 1.13.15, the last release whose Clique runs:
# geth 1.14 dropped proof-of-authority sealing), GETH_CACHE (default .cache/geth-vVERSION under
# the repository, which .gitignore keeps out of git).
#
# bootnode is built beside it for networks across hosts that discover their peers through one;
# `crossborder network` on loopback lists every node as a static peer instead.
#
# `-checklinkname=0`: geth 1.13 links against runtime internals through go:linkname, which
# Go 1.23+ refuses unless the check is switched off.
set -euo pipefail

GETH_VERSION="${GETH_VERSION:-1.13.15}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GETH_CACHE="${GETH_CACHE:-$ROOT/.cache/geth-v$GETH_VERSION}"
BIN="$GETH_CACHE/bin"

pinned() {
    [ -x "$BIN/geth" ] && [ -x "$BIN/bootnode" ] \
        && "$BIN/geth" version 2>/dev/null | grep -q "^Version: $GETH_VERSION-stable"
}

if ! pinned; then
    command -v go >/dev/null || { echo "geth.sh: the Go toolchain (go) is not on PATH" >&2; exit 1; }
    echo "building geth and bootnode v$GETH_VERSION into $BIN …" >&2
    mkdir -p "$BIN"
    export GOBIN="$BIN"
    export GOFLAGS="-mod=mod -buildvcs=false"
    export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
    export GOTOOLCHAIN=local
    for cmd in geth bootnode; do
        go install -trimpath -ldflags=-checklinkname=0 \
            "github.com/ethereum/go-ethereum/cmd/$cmd@v$GETH_VERSION" >&2
    done
    pinned || { echo "geth.sh: the built geth does not report version $GETH_VERSION" >&2; exit 1; }
fi
echo "$BIN"
