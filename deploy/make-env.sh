#!/usr/bin/env bash
# Writes the secrets docker-compose.yml needs into .env beside it, each generated at random once:
# a variable already in .env (or set in the environment) is kept, so running this again changes
# nothing. `make up` runs it first; compose refuses to start without these values.
#
#     deploy/make-env.sh [path/to/.env]
set -euo pipefail

env_file="${1:-$(cd "$(dirname "$0")/.." && pwd)/.env}"
secrets=(POSTGRES_PASSWORD IDENTITY_DB_PASSWORD SALES_DB_PASSWORD SERVICE_DESK_DB_PASSWORD
         MARKETING_DB_PASSWORD ANALYTICS_DB_PASSWORD AUTOMATION_DB_PASSWORD INTEGRATION_DB_PASSWORD GATEWAY_DB_PASSWORD)

touch "$env_file"
chmod 600 "$env_file"
added=()
for name in "${secrets[@]}"; do
  if grep -q "^${name}=" "$env_file" || [ -n "${!name:-}" ]; then
    continue
  fi
  # letters and digits only: the values go into database URLs as they are
  value="$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)"
  printf '%s=%s\n' "$name" "$value" >> "$env_file"
  added+=("$name")
done
if [ ${#added[@]} -gt 0 ]; then
  echo "make-env: generated ${added[*]} into $env_file (keep it: the database volume was initialised with them)"
fi
