#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server on loopback for the indexer's tests and benchmark, and
# prints its SQLAlchemy URL (postgresql+psycopg://…) as the last line of its output.
# Idempotent: installs Debian's postgresql only when missing, creates the cluster only once,
# starts the server only when it is not already running.
#
#   export CROSSBORDER_TEST_PG_URL="$(scripts/postgres.sh | tail -n1)"
#
# Settings (environment): PG_DIR (cluster directory, default /tmp/crossborder-pg-UID: outside
# .devnet/, which `make clean` removes), PG_PORT (default 55432),
# PG_DB / PG_USER / PG_PASSWORD (default crossborder).
set -euo pipefail

PG_DIR="${PG_DIR:-${TMPDIR:-/tmp}/crossborder-pg-$(id -u)}"
PG_PORT="${PG_PORT:-55432}"
PG_DB="${PG_DB:-crossborder}"
PG_USER="${PG_USER:-crossborder}"
PG_PASSWORD="${PG_PASSWORD:-crossborder}"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bin() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
    [ -n "$dir" ] && echo "$dir"
}

if [ -z "$(pg_bin)" ]; then
    echo "installing postgresql from Debian's packages …" >&2
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
BIN="$(pg_bin)"

# The server refuses to run as root: the cluster belongs to the postgres user (or to us).
if [ "$(id -u)" -eq 0 ]; then
    RUN_AS=(runuser -u postgres --)
    OWNER=postgres
else
    RUN_AS=()
    OWNER="$(id -un)"
fi

mkdir -p "$PG_DIR"
chown "$OWNER" "$PG_DIR"
chmod 700 "$PG_DIR"
if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    "${RUN_AS[@]}" "$BIN/initdb" -D "$PG_DIR" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >"$PG_DIR.initdb.log" 2>&1 \
        || { cat "$PG_DIR.initdb.log" >&2; exit 1; }
fi

if ! "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
    # fsync off: a test server, re-created at will; unix socket in the cluster directory.
    "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w -t 60 start \
        -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off \
            -c full_page_writes=off -c max_connections=50" >&2
fi

psql_admin() {
    "${RUN_AS[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -qtA "$@"
}
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != "1" ]; then
    psql_admin -c "CREATE ROLE \"$PG_USER\" LOGIN PASSWORD '$PG_PASSWORD' CREATEDB" >&2
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\"" >&2
fi

echo "postgresql+psycopg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB"
