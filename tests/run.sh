#!/usr/bin/env bash
# `make test`: install what the tests need, start throwaway redis-server and PostgreSQL on
# loopback, run the static checks and pytest, stop the servers.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v npm >/dev/null || need_apt+=(npm)  # the console's ECharts (console/package-lock.json)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need_apt+=(fonts-noto-cjk)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
# Debian's python3 has no ensurepip (so no `python3 -m venv`) without python3-venv.
[ -x .venv/bin/python ] || python3 -c 'import ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if ((${#need_apt[@]})); then
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null; then
            echo "make test needs these Debian packages: ${need_apt[*]}" >&2
            echo "install them as root (apt-get install ${need_apt[*]}), then run make test again" >&2
            exit 1
        fi
        SUDO=(sudo)
    fi
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

make -s install-dev
make -s console-vendor

workdir="$(mktemp -d)"
port="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --dir "$workdir" --daemonize yes --pidfile "$workdir/redis.pid" --logfile "$workdir/redis.log"
pgdir="$(mktemp -d)"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$pgdir"
    as_pg=(runuser -u postgres --)
fi
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
cleanup() {
    [ -f "$workdir/redis.pid" ] && kill "$(cat "$workdir/redis.pid")" 2>/dev/null || true
    [ -f "$pgdir/data/postmaster.pid" ] && "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$workdir" "$pgdir"
}
trap cleanup EXIT
for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
export SIDEKICK_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
export SIDEKICK_REQUIRE_REDIS=1

# A throwaway PostgreSQL cluster on loopback, for the scale-out database path.
pgport="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"${as_pg[@]}" "$pg_bin/initdb" -D "$pgdir/data" -A trust -U sidekick >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
    -o "-p $pgport -k $pgdir -h 127.0.0.1 -F" start >/dev/null
export SIDEKICK_TEST_PG_URL="postgresql+asyncpg://sidekick@127.0.0.1:$pgport/postgres"
export SIDEKICK_REQUIRE_PG=1
export SIDEKICK_REQUIRE_BROWSER=1

# Static checks first: the import contracts, lint, and strict types on bot/, knowledge/, sidebar/.
.venv/bin/lint-imports
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
