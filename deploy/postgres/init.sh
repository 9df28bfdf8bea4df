#!/usr/bin/env bash
# One database and one login role per CRM service: identity, sales, service_desk, marketing,
# analytics, and the gateway's own small one (the kernel's tables).
# Each role owns its database and only it can connect to it (a service owns its data).
#
# Passwords come from the environment, one variable per database (no default: a missing one fails):
#     IDENTITY_DB_PASSWORD  SALES_DB_PASSWORD  SERVICE_DESK_DB_PASSWORD
#     MARKETING_DB_PASSWORD  ANALYTICS_DB_PASSWORD  INTEGRATION_DB_PASSWORD  GATEWAY_DB_PASSWORD
#
# docker-compose mounts this file into /docker-entrypoint-initdb.d/, where the postgres image runs it
# once, on an empty data directory, as the superuser over the local socket. It is idempotent and
# can also be run by hand against any PostgreSQL server as a superuser (or a role with CREATEROLE
# and CREATEDB), the usual libpq variables choosing the server:
#     PGHOST=db.internal PGUSER=postgres IDENTITY_DB_PASSWORD=... ... bash deploy/postgres/init.sh
# Re-running it resets the passwords to the values given.
set -euo pipefail

CRM_DATABASES=(identity sales service_desk marketing analytics automation integration gateway)

missing=()
for name in "${CRM_DATABASES[@]}"; do
    var="${name^^}_DB_PASSWORD"
    if [ -z "${!var:-}" ]; then
        missing+=("$var")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "init.sh: set ${missing[*]}" >&2
    exit 1
fi

# Inside the postgres image POSTGRES_USER/POSTGRES_DB name the bootstrap superuser and database.
admin_user="${POSTGRES_USER:-${PGUSER:-postgres}}"
admin_db="${POSTGRES_DB:-${PGDATABASE:-postgres}}"

for name in "${CRM_DATABASES[@]}"; do
    var="${name^^}_DB_PASSWORD"
    # psql variables keep quoting right: :"name" is an identifier, :'name' / :'password' literals.
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
         --username "$admin_user" --dbname "$admin_db" \
         --set=name="$name" --set=password="${!var}" <<'EOSQL'
SELECT format('CREATE ROLE %I LOGIN', :'name')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name')\gexec
ALTER ROLE :"name" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'name', :'name', 'UTF8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name')\gexec
ALTER DATABASE :"name" OWNER TO :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"name" TO :"name";
EOSQL
    echo "init.sh: database and role '$name' ready"
done
