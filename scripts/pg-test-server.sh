#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster on a free 127.0.0.1 port, for regenerating the
# fixtures under tests/fixtures/postgres/ and for trying eventscope against a real server.
# Uses Debian's `postgresql` package (scripts/setup.sh test installs it). Never touches a
# system cluster: everything lives in one temporary directory.
#
#   scripts/pg-test-server.sh start [DIR]   initdb (trust auth, UTF8, superuser `postgres`)
#                                           in DIR (default: a new mktemp dir), start on a
#                                           free port, print shell assignments:
#                                             PGTEST_DIR=… PGHOST=127.0.0.1 PGPORT=… PGUSER=postgres
#                                             PGTEST_URL=postgres://postgres@127.0.0.1:PORT/postgres
#                                           so `eval "$(scripts/pg-test-server.sh start)"` works.
#   scripts/pg-test-server.sh start --tls [DIR]
#                                           the same with TLS on (ssl=on, a self-signed
#                                           certificate for CN/SAN 127.0.0.1 + localhost made
#                                           with openssl in DIR/tls); also prints
#                                           PGTEST_SSLROOTCERT=DIR/tls/server.crt and
#                                           PGTEST_TLS_URL=…?sslmode=verify-full&sslrootcert=…
#   scripts/pg-test-server.sh start --tls-only [DIR]
#                                           TLS, and pg_hba accepts TCP only over TLS
#                                           (hostssl), so sslmode=disable is refused
#   scripts/pg-test-server.sh stop [DIR]    stop it (fast shutdown) and delete DIR
#                                           (KEEP=1 keeps the directory; `start DIR` then
#                                           starts it again, on the same port when free)
#   scripts/pg-test-server.sh restart [DIR] fast shutdown and start again, same port and
#                                           settings (sessions are ended, as on a real
#                                           server restart)
#   scripts/pg-test-server.sh status [DIR]  print the assignments again if it is running
#
# Without DIR, stop/status use the last cluster started (recorded in
# ${TMPDIR:-/tmp}/eventscope-pg-test-server.last). Works as root (the server then runs as the
# `postgres` system user, which must exist — the Debian package creates it) or as any other
# user. Extra server settings: PGTEST_OPTS, e.g. PGTEST_OPTS="-c log_statement=all".
set -euo pipefail

last_file="${TMPDIR:-/tmp}/eventscope-pg-test-server.last"

die() { echo "pg-test-server.sh: $*" >&2; exit 1; }

bindir() {
  if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return; fi
  local initdb
  # The newest installed major version.
  initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$initdb" ] || initdb=$(command -v initdb || true)
  [ -n "$initdb" ] || die "no initdb found: install Debian's postgresql (scripts/setup.sh test) or set PG_BINDIR"
  dirname "$initdb"
}

# Runs a command as the user that owns the cluster.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' system user"
    local quoted
    quoted=$(printf '%q ' "$@")
    su postgres -s /bin/sh -c "$quoted"
  else
    "$@"
  fi
}

port_is_free() {
  # Nothing answers on it (bash's /dev/tcp connect fails) and no socket file of ours uses it.
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
  local port tries=0
  while [ $tries -lt 200 ]; do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if port_is_free "$port"; then echo "$port"; return; fi
    tries=$((tries + 1))
  done
  die "no free port found"
}

print_env() {
  local dir=$1 port
  port=$(cat "$dir/port")
  cat <<EOF
PGTEST_DIR=$dir
PGHOST=127.0.0.1
PGPORT=$port
PGUSER=postgres
PGTEST_URL=postgres://postgres@127.0.0.1:$port/postgres
export PGTEST_DIR PGHOST PGPORT PGUSER PGTEST_URL
EOF
  if [ -f "$dir/tls/server.crt" ]; then
    cat <<EOF
PGTEST_SSLROOTCERT=$dir/tls/server.crt
PGTEST_TLS_URL='postgres://postgres@127.0.0.1:$port/postgres?sslmode=verify-full&sslrootcert=$dir/tls/server.crt'
export PGTEST_SSLROOTCERT PGTEST_TLS_URL
EOF
  fi
}

make_cert() { # $1 = dir
  command -v openssl >/dev/null || die "--tls needs openssl"
  mkdir -p "$1/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$1/tls/server.key" -out "$1/tls/server.crt" >/dev/null 2>&1 || die "openssl failed"
  chmod 600 "$1/tls/server.key"
  chmod 644 "$1/tls/server.crt"
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$1/tls"; fi
}

resolve_dir() {
  local dir=${1:-}
  if [ -z "$dir" ]; then
    [ -f "$last_file" ] || die "no cluster recorded in $last_file; pass its DIR"
    dir=$(cat "$last_file")
  fi
  [ -f "$dir/data/PG_VERSION" ] || die "$dir holds no cluster"
  echo "$dir"
}

start() {
  local tls=0 dir bin port attempt ssl_opts=""
  case "${1:-}" in
    --tls) tls=1; shift ;;
    --tls-only) tls=2; shift ;;
  esac
  dir=${1:-}
  bin=$(bindir)
  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/eventscope-pg.XXXXXX")
  else
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
  fi
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
  chmod 700 "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  fi
  if [ $tls -ge 1 ]; then
    [ -f "$dir/tls/server.crt" ] || make_cert "$dir"
    ssl_opts="-c ssl=on -c ssl_cert_file=$dir/tls/server.crt -c ssl_key_file=$dir/tls/server.key"
    if [ $tls -eq 2 ]; then
      # TCP connections only over TLS; the Unix socket stays plain (trust) for administration.
      as_owner sed -i -E 's/^host([[:space:]])/hostssl\1/' "$dir/data/pg_hba.conf"
    fi
  fi
  # Another process may take the port between the check and the bind: retry a few times.
  for attempt in 1 2 3 4 5; do
    # A cluster started before (stopped with KEEP=1) comes back on its port when it is free.
    if [ "$attempt" -eq 1 ] && [ -f "$dir/port" ] && port_is_free "$(cat "$dir/port")"; then
      port=$(cat "$dir/port")
    else
      port=$(free_port)
    fi
    if as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 30 -l "$dir/server.log" \
         -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off $ssl_opts ${PGTEST_OPTS:-}" \
         start >"$dir/pg_ctl.log" 2>&1; then
      echo "$port" >"$dir/port"
      echo "$dir" >"$last_file"
      print_env "$dir"
      return
    fi
  done
  tail -n 20 "$dir/server.log" >&2 || true
  die "the server did not start (log: $dir/server.log)"
}

stop() {
  local dir bin
  dir=$(resolve_dir "${1:-}")
  bin=$(bindir)
  as_owner "$bin/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null 2>&1 || true
  if [ -f "$last_file" ] && [ "$(cat "$last_file")" = "$dir" ]; then rm -f "$last_file"; fi
  if [ "${KEEP:-0}" != 1 ]; then rm -rf "$dir"; fi
  echo "pg-test-server.sh: stopped $dir" >&2
}

restart() {
  local dir bin
  dir=$(resolve_dir "${1:-}")
  bin=$(bindir)
  # pg_ctl restart reuses the options the server was started with (postmaster.opts).
  as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 30 -m fast -l "$dir/server.log" restart \
    >>"$dir/pg_ctl.log" 2>&1 || { tail -n 20 "$dir/server.log" >&2; die "restart failed"; }
  print_env "$dir"
}

status() {
  local dir bin
  dir=$(resolve_dir "${1:-}")
  bin=$(bindir)
  as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 || die "the cluster in $dir is not running"
  print_env "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  restart) shift; restart "$@" ;;
  status) shift; status "$@" ;;
  *) echo "usage: $0 start [--tls|--tls-only] [DIR] | stop [DIR] | restart [DIR] | status [DIR]" >&2; exit 2 ;;
esac
