#!/bin/sh
# pg.sh start|stop WORKDIR — a private PostgreSQL 15 server for the tests:
# initdb into WORKDIR/pg, listening only on a Unix socket in WORKDIR/pg
# (no TCP), started with pg_ctl and stopped afterwards. On start it writes
# the libpq conninfo to WORKDIR/pg.conninfo; with no PostgreSQL binaries it
# prints SKIP and writes nothing (the suites that need it then skip).
# As root (CI) the server runs as the 'postgres' user, as initdb requires.
set -eu
cmd=$1
work=$2
dir=$work/pg
info=$work/pg.conninfo
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case $cmd in
start)
    rm -f "$info"
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "SKIP: PostgreSQL server binaries not found: postgres tests skipped"
        exit 0
    fi
    if [ -f "$dir/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir" && chmod 700 "$dir"
    # the socket directory's path must be short: keep it under /tmp
    sock=$(mktemp -d /tmp/di-pg.XXXXXX)
    [ "$(id -u)" -eq 0 ] && chown postgres "$sock"
    as_owner "$bin/initdb" -D "$dir" -U postgres -A trust --no-sync >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/log" \
        -o "-c listen_addresses='' -c unix_socket_directories=$sock -c fsync=off -c max_connections=150" \
        start >/dev/null
    echo "$sock" > "$dir/socket"
    echo "host=$sock user=postgres dbname=postgres" > "$info"
    echo "pg: PostgreSQL running on $sock"
    ;;
stop)
    if [ -n "$bin" ] && [ -f "$dir/postmaster.pid" ]; then
        as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
    fi
    [ -f "$dir/socket" ] && rm -rf "$(cat "$dir/socket")"
    rm -rf "$dir" "$info"
    echo "pg: stopped"
    ;;
*)
    echo "usage: pg.sh start|stop WORKDIR" >&2
    exit 2
    ;;
esac
