#!/usr/bin/env bash
# Start the PostgreSQL and Redis servers the app tests talk to.
#
#   tools/services.sh start    start them if installed and not running,
#                              create the test role and database, exit 0
#   tools/services.sh status   print what is running
#
# It never installs anything (CI does `apt-get install -y postgresql redis-server`).
# A missing server is reported and skipped, except under CI=true where it is an error,
# because there the tests must run against both.
set -euo pipefail

PG_ROLE=${BERTH_TEST_PG_ROLE:-berth}
PG_PASSWORD=${BERTH_TEST_PG_PASSWORD:-berth}
PG_DB=${BERTH_TEST_PG_DB:-berth_test}
REDIS_PORT=${BERTH_TEST_REDIS_PORT:-6379}

missing=()

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

start_postgres() {
    if ! command -v pg_lsclusters >/dev/null 2>&1; then
        echo "services: PostgreSQL is not installed (apt-get install -y postgresql)"
        missing+=(postgresql)
        return
    fi
    local cluster
    cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2" "$4}')
    if [ -z "$cluster" ]; then
        echo "services: PostgreSQL is installed but has no cluster (pg_createcluster 15 main)"
        missing+=(postgresql-cluster)
        return
    fi
    set -- $cluster
    if [ "$3" != online ]; then
        echo "services: starting PostgreSQL cluster $1/$2"
        pg_ctlcluster "$1" "$2" start
    fi
    for _ in $(seq 1 30); do
        as_postgres psql -XAtqc 'select 1' >/dev/null 2>&1 && break
        sleep 0.5
    done
    # The test role may create databases: the migration tests make throwaway ones.
    as_postgres psql -Xqv ON_ERROR_STOP=1 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${PG_ROLE}') THEN
    CREATE ROLE ${PG_ROLE} LOGIN CREATEDB PASSWORD '${PG_PASSWORD}';
  ELSE
    ALTER ROLE ${PG_ROLE} LOGIN CREATEDB PASSWORD '${PG_PASSWORD}';
  END IF;
END \$\$;
SQL
    if [ -z "$(as_postgres psql -XAtqc "select 1 from pg_database where datname = '${PG_DB}'")" ]; then
        as_postgres createdb -O "$PG_ROLE" "$PG_DB"
    fi
    echo "services: PostgreSQL ready: postgresql://${PG_ROLE}:***@127.0.0.1:5432/${PG_DB}"
}

start_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "services: Redis is not installed (apt-get install -y redis-server)"
        missing+=(redis-server)
        return
    fi
    if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
        echo "services: starting redis-server on port $REDIS_PORT"
        redis-server --daemonize yes --port "$REDIS_PORT" --bind 127.0.0.1 \
            --save '' --appendonly no --dir /tmp --logfile /tmp/berth-redis.log
        for _ in $(seq 1 20); do
            redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
            sleep 0.25
        done
    fi
    echo "services: Redis ready: redis://127.0.0.1:${REDIS_PORT}"
}

case "${1:-start}" in
    start)
        start_postgres
        start_redis
        if [ ${#missing[@]} -gt 0 ]; then
            if [ "${CI:-}" = true ]; then
                echo "services: missing under CI: ${missing[*]}" >&2
                exit 1
            fi
            echo "services: missing ${missing[*]}; the tests that need them will skip"
        fi
        ;;
    status)
        pg_lsclusters 2>/dev/null || echo "PostgreSQL not installed"
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null || echo "Redis not answering on $REDIS_PORT"
        ;;
    *)
        echo "usage: $0 start|status" >&2
        exit 2
        ;;
esac
