#!/usr/bin/env bash
# The test backends CI needs from Debian's packages, installed and started where they are
# missing and we run as root (as on CI): PostgreSQL (the outbox connector), Redis (Feast's
# online store) and Prometheus (promtool checks and tests the alert rules). Prints the
# environment for the tests as `export` lines on stdout; everything
# else goes to stderr. The database password is made here, for this run only, and never shown.
set -euo pipefail

say() { echo "ci: $*" >&2; }

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  say "not root or no apt-get: PostgreSQL and Redis are left as they are"
  exit 0
fi

missing=()
command -v pg_ctlcluster >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
  || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v promtool >/dev/null || missing+=(prometheus)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PostgreSQL: the distribution's cluster, a role and a database of the tests'.
version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >&2
fi
pg_ctlcluster "$version" main start >&2 2>&1 || true
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
su postgres -c "psql -q -p $port -v ON_ERROR_STOP=1" >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hub_test') THEN
    CREATE ROLE hub_test LOGIN;
  END IF;
END \$\$;
ALTER ROLE hub_test PASSWORD '$password';
SQL
if ! su postgres -c "psql -p $port -tAc \"SELECT 1 FROM pg_database WHERE datname = 'hub_test'\"" \
  | grep -q 1; then
  su postgres -c "createdb -p $port -O hub_test hub_test" >&2
fi
echo "export HUB_TEST_POSTGRES_DSN=postgresql://hub_test:$password@127.0.0.1:$port/hub_test"

# Redis: a server of the tests' own, in memory only.
redis_port=16379
if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' \
    --appendonly no >&2
fi
echo "export HUB_TEST_REDIS_URL=127.0.0.1:$redis_port"
say "PostgreSQL $version on port $port and Redis on port $redis_port are up"
