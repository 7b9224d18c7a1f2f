#!/usr/bin/env bash
# Make sure the servers the integration tests talk to are answering on loopback:
#   Redis       127.0.0.1:6379
#   PostgreSQL  127.0.0.1:5432
#   ClickHouse  127.0.0.1:8123 (HTTP) and 127.0.0.1:9000 (native)
#
# Idempotent: a server that already answers is left alone. A missing one is installed from
# Debian's packages (only if its binary is missing) and started. Nothing is ever stopped.
# See docs/development.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="$ROOT/.servers"
WAIT_SECONDS="${SERVERS_WAIT_SECONDS:-60}"

REDIS_PORT=6379
PG_PORT=5432
CH_HTTP_PORT=8123
CH_TCP_PORT=9000
CH_INTERSERVER_PORT=9009
CH_DIR="$STATE_DIR/clickhouse"

APT_UPDATED=0

log() { printf '%s\n' "$*"; }
die() {
    printf 'servers.sh: %s\n' "$*" >&2
    exit 1
}

# Run a command as root: directly when we are root, else through passwordless sudo.
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root (or passwordless sudo) to run: $*"
    fi
}

# Run a command as the postgres OS user from a directory it can read.
as_postgres() {
    (cd / && as_root runuser -u postgres -- "$@")
}

apt_install() {
    if [[ $APT_UPDATED -eq 0 ]]; then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- probes: bash /dev/tcp only, so they work before any client package is installed ---

# with_timeout SECONDS FUNCTION [ARGS...]: run a function of this file in a child bash,
# killed after SECONDS, with its stderr (e.g. "Connection refused") dropped.
with_timeout() {
    local seconds=$1 fn=$2
    shift 2
    timeout "$seconds" bash -c "$(declare -f "$fn"); $fn \"\$@\"" _ "$@" 2>/dev/null
}

_redis_ping() {
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'PING\r\n' >&3
    local line
    IFS= read -r -t 2 line <&3 || return 1
    [[ $line == "+PONG"* ]]
}

# SSLRequest (length 8, code 80877103); a PostgreSQL server answers one byte, N or S.
_postgres_sslrequest() {
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf '\x00\x00\x00\x08\x04\xd2\x16\x2f' >&3
    local byte
    IFS= read -r -n 1 -t 2 byte <&3 || return 1
    [[ $byte == N || $byte == S ]]
}

# _http_get PORT PATH: prints the response body.
_http_get() {
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&3
    local line in_body=0
    while IFS= read -r -t 2 line <&3 || [[ -n $line ]]; do
        line=${line%$'\r'}
        if ((in_body)); then
            printf '%s\n' "$line"
        elif [[ -z $line ]]; then
            in_body=1
        fi
    done
}

_tcp_open() {
    exec 3<>"/dev/tcp/127.0.0.1/$1"
}

redis_answers() { with_timeout 3 _redis_ping "$REDIS_PORT"; }
postgres_answers() { with_timeout 3 _postgres_sslrequest "$PG_PORT"; }
http_get() { with_timeout 5 _http_get "$CH_HTTP_PORT" "$1"; }

clickhouse_answers() {
    [[ "$(http_get /ping)" == "Ok." ]] || return 1
    # The native port opens a moment after HTTP; check it too, with a real query when the
    # client is there (a bare connect makes the server log "Client has not sent any data").
    if command -v clickhouse-client >/dev/null 2>&1; then
        timeout 5 clickhouse-client --host 127.0.0.1 --port "$CH_TCP_PORT" -q 'SELECT 1' \
            >/dev/null 2>&1
    else
        with_timeout 3 _tcp_open "$CH_TCP_PORT"
    fi
}

# wait_for NAME PROBE LOGFILE
wait_for() {
    local name=$1 probe=$2 logfile=$3 deadline=$((SECONDS + WAIT_SECONDS))
    until "$probe"; do
        if ((SECONDS >= deadline)); then
            {
                printf 'servers.sh: %s did not answer within %s s; see its log: %s\n' \
                    "$name" "$WAIT_SECONDS" "$logfile"
                if [[ -r $logfile ]]; then
                    printf -- '--- last lines of %s ---\n' "$logfile"
                    tail -n 20 "$logfile"
                fi
            } >&2
            exit 1
        fi
        sleep 0.2
    done
}

# --- Redis ---

ensure_redis() {
    if redis_answers; then
        log "redis:      already running on 127.0.0.1:$REDIS_PORT"
        return
    fi
    local how=started
    if ! command -v redis-server >/dev/null 2>&1; then
        apt_install redis-server
        how="installed+started"
    fi
    # The machine's documented locations when we may write there, else our own folder.
    local dir=/var/lib/redis logfile=/var/log/redis/ci.log
    if ! { [[ -d $dir && -w $dir && -d ${logfile%/*} && -w ${logfile%/*} ]]; }; then
        dir="$STATE_DIR/redis"
        logfile="$dir/redis.log"
        mkdir -p "$dir"
    fi
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
        --save '' --appendonly no --dir "$dir" --logfile "$logfile" \
        || die "Redis failed to start; see its log: $logfile"
    wait_for Redis redis_answers "$logfile"
    log "redis:      $how on 127.0.0.1:$REDIS_PORT (log: $logfile)"
}

# --- PostgreSQL ---

pg_version() {
    find /etc/postgresql -mindepth 2 -maxdepth 2 -name main -type d 2>/dev/null \
        | awk -F/ '{print $4}' | sort -V | tail -n 1
}

ensure_postgres() {
    if postgres_answers; then
        log "postgresql: already running on 127.0.0.1:$PG_PORT"
        return
    fi
    local how=started installed=0 ver
    ver="$(pg_version)"
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z $ver ]]; then
        apt_install postgresql
        installed=1
        how="installed+started"
        ver="$(pg_version)"
        [[ -n $ver ]] || die "PostgreSQL installed but no cluster 'main' under /etc/postgresql"
    fi
    local logfile="/var/log/postgresql/postgresql-$ver-main.log"
    if ! as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main status >/dev/null 2>&1; then
        as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start \
            || die "PostgreSQL $ver/main failed to start; see its log: $logfile"
    fi
    wait_for PostgreSQL postgres_answers "$logfile"
    if [[ $installed -eq 1 ]]; then
        # Password-less loopback connections for tests, as on the documented machine.
        local hba="/etc/postgresql/$ver/main/pg_hba.conf"
        as_root sed -i -E \
            's#^(host[[:space:]]+[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+(127\.0\.0\.1/32|::1/128)[[:space:]]+)[^[:space:]]+#\1trust#' \
            "$hba"
        as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
        if [[ -z "$(as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'")" ]]; then
            as_postgres createdb test
        fi
    fi
    log "postgresql: $how ($ver/main) on 127.0.0.1:$PG_PORT (log: $logfile)"
}

# --- ClickHouse ---

xml_escape() {
    local s=$1
    s=${s//&/&amp;}
    s=${s//</&lt;}
    s=${s//>/&gt;}
    printf '%s' "$s"
}

write_clickhouse_config() {
    local d
    d="$(xml_escape "$CH_DIR")"
    mkdir -p "$CH_DIR/log" "$CH_DIR/data"
    cat >"$CH_DIR/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by scripts/servers.sh; rewritten on every start. -->
<yandex>
  <logger>
    <level>information</level>
    <log>$d/log/clickhouse-server.log</log>
    <errorlog>$d/log/clickhouse-server.err.log</errorlog>
    <size>100M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$CH_HTTP_PORT</http_port>
  <tcp_port>$CH_TCP_PORT</tcp_port>
  <interserver_http_port>$CH_INTERSERVER_PORT</interserver_http_port>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$d/data/</path>
  <tmp_path>$d/data/tmp/</tmp_path>
  <user_files_path>$d/data/user_files/</user_files_path>
  <format_schema_path>$d/data/format_schemas/</format_schema_path>
  <users_config>$d/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
EOF
    cat >"$CH_DIR/users.xml" <<'EOF'
<?xml version="1.0"?>
<!-- Generated by scripts/servers.sh; rewritten on every start. -->
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
        <ip>::1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default>
      <interval>
        <duration>3600</duration>
        <queries>0</queries>
        <errors>0</errors>
        <result_rows>0</result_rows>
        <read_rows>0</read_rows>
        <execution_time>0</execution_time>
      </interval>
    </default>
  </quotas>
</yandex>
EOF
}

ensure_clickhouse() {
    if clickhouse_answers; then
        log "clickhouse: already running on 127.0.0.1:$CH_HTTP_PORT/$CH_TCP_PORT"
        return
    fi
    local how=started
    if ! command -v clickhouse-server >/dev/null 2>&1 || ! command -v clickhouse-client >/dev/null 2>&1; then
        local t0=$SECONDS
        apt_install clickhouse-server clickhouse-client
        how="installed+started ($((SECONDS - t0)) s for apt)"
    fi
    # The log dir must exist before the start: without it --daemon exits 0 and nothing runs.
    write_clickhouse_config
    local logfile="$CH_DIR/log/clickhouse-server.err.log"
    clickhouse-server --config-file="$CH_DIR/config.xml" --pid-file="$CH_DIR/clickhouse-server.pid" \
        --daemon >>"$CH_DIR/log/stdout.log" 2>&1 \
        || die "ClickHouse failed to start; see its log: $logfile"
    wait_for ClickHouse clickhouse_answers "$logfile"
    local version
    version="$(http_get '/?query=SELECT%20version()')" || version='?'
    log "clickhouse: $how, version $version, on 127.0.0.1:$CH_HTTP_PORT/$CH_TCP_PORT (dir: $CH_DIR)"
}

ensure_redis
ensure_postgres
ensure_clickhouse
