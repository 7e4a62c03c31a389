#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for tests: no password, data in a fresh temp dir.
#
#   scripts/start_postgres.sh --check        exit 0 if PostgreSQL can be started here, 3 if not (says why)
#   scripts/start_postgres.sh PORT           start it; prints PGDATA=<dir> then the SQLAlchemy URL
#   scripts/start_postgres.sh --stop DIR     stop the server whose data is in DIR and delete DIR
#
# Uses Debian's `postgresql` package (apt-get install -y postgresql) or any initdb/pg_ctl on PATH.
# PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
set -euo pipefail

find_bin() {
    if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$dir" && -x "$dir/$1" ]]; then echo "$dir/$1"; fi
}

INITDB=$(find_bin initdb)
PG_CTL=$(find_bin pg_ctl)
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

check() {
    if [[ -z "$INITDB" || -z "$PG_CTL" ]]; then
        echo "PostgreSQL is not installed (no initdb/pg_ctl): apt-get install -y postgresql" >&2
        return 3
    fi
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        echo "running as root and there is no 'postgres' user to run PostgreSQL as" >&2
        return 3
    fi
}

case "${1:-}" in
    --check)
        check
        ;;
    --stop)
        dir=${2:?usage: $0 --stop DIR}
        as_owner "$PG_CTL" -D "$dir" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$dir"
        ;;
    ''|-*)
        echo "usage: $0 PORT | --check | --stop DIR" >&2
        exit 2
        ;;
    *)
        port=$1
        check
        dir=$(mktemp -d /tmp/malmoi-pg.XXXXXX)  # not under root's private temp: postgres must reach it
        chmod 700 "$dir"
        if [[ $(id -u) -eq 0 ]]; then chown postgres "$dir"; fi
        as_owner "$INITDB" -D "$dir" -U malmoi -A trust -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
            || { cat "$dir.initdb.log" >&2; exit 1; }
        rm -f "$dir.initdb.log"
        # fsync off: a test database need not survive a power cut, and it starts and runs faster.
        as_owner "$PG_CTL" -D "$dir" -w -t 60 -l "$dir/server.log" \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null \
            || { cat "$dir/server.log" >&2; exit 1; }
        echo "PGDATA=$dir"
        echo "postgresql://malmoi@127.0.0.1:$port/postgres"
        ;;
esac
