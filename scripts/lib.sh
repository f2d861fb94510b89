# Shared setup for scripts/run and scripts/test (sourced, not run).
# Installs what is missing on a fresh Debian machine (as root: apt-get), creates .venv,
# installs the package, and starts services that are installed but stopped.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1;36m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
    # apt_install PKG...: install Debian packages that are missing (needs root).
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them by hand"
    [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: run as root, or: sudo apt-get install ${missing[*]}"
    if [ "$APT_UPDATED" -eq 0 ]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    say "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_python() {
    # A Python >= 3.11 with venv; Debian's python3 when none is on PATH.
    if ! command -v python3 >/dev/null || ! python3 -c 'import sys, venv; assert sys.version_info >= (3, 11)' 2>/dev/null; then
        apt_install python3 python3-venv python3-dev
    fi
    python3 -c 'import ensurepip' 2>/dev/null || apt_install python3-venv
}

ensure_venv() {
    # .venv with the package installed (editable) plus the extras named in $1.
    local extras="${1:-}"
    ensure_python
    if [ ! -x "$PY" ]; then
        say "creating .venv"
        python3 -m venv "$VENV"
    fi
    local stamp="$VENV/.installed-$extras"
    if [ ! -f "$stamp" ] || [ "$ROOT/setup.cfg" -nt "$stamp" ]; then
        say "installing magflock${extras:+[$extras]} into .venv"
        "$PY" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
        "$PY" -m pip install -q -e "$ROOT${extras:+[$extras]}" 2>&1 | grep -v '^WARNING: Location' || true
        "$PY" -c 'import mobo, falcon, redis, rq, supervisor' || die "installing the package failed"
        touch "$stamp"
    fi
}

redis_up() { "$PY" -c 'import redis,sys; redis.Redis(socket_connect_timeout=0.5).ping()' 2>/dev/null; }

ensure_redis_installed() {
    command -v redis-server >/dev/null || apt_install redis-server
}

start_redis() {
    # Start the local Redis on 127.0.0.1:6379 if it does not answer.
    redis_up && return 0
    ensure_redis_installed
    say "starting redis-server on 127.0.0.1:6379"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/mobo.log
    for _ in $(seq 50); do redis_up && return 0; sleep 0.1; done
    die "redis-server did not start; see /var/log/redis/mobo.log"
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

start_postgres() {
    pg_up && return 0
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)"
    [ -n "$version" ] || die "postgresql is installed but has no cluster in /etc/postgresql"
    say "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 100); do pg_up && break; sleep 0.1; done
    pg_up || die "PostgreSQL did not start"
    # tests connect over TCP as postgres without a password (trust on loopback, as CI has)
    su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1 || true
    if ! psql -h 127.0.0.1 -U postgres -qtAc 'select 1' >/dev/null 2>&1; then
        local hba
        hba="$(su postgres -c "psql -qtAc 'show hba_file'")"
        say "allowing trust auth on loopback for tests ($hba)"
        sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
        su postgres -c "psql -qtAc 'select pg_reload_conf()'" >/dev/null
    fi
}

mariadb_up() { mysqladmin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; }

start_mariadb() {
    mariadb_up && return 0
    command -v mariadbd >/dev/null || apt_install mariadb-server
    say "starting MariaDB"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
    for _ in $(seq 100); do mariadb_up && break; sleep 0.1; done
    mariadb_up || die "MariaDB did not start"
}
