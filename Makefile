# make run · make test · make bench · make lint · make up
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PACKAGES := libs/crm_common $(foreach s,identity sales service_desk marketing analytics automation integration,services/$(s)/contracts services/$(s)) gateway console
STAMP := $(VENV)/.installed

.PHONY: venv run test test-unit test-integration test-e2e bench lint up down clean recover-admin backup restore

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps $(foreach p,$(PACKAGES),-e $(p))
	@touch $@

run: venv
	@$(PY) -W ignore -m crm_common.suite run

# a lost or locked-out administrator, from the host: make recover-admin EMAIL=you@example.com [ARGS=--reset-mfa]
recover-admin: venv
	@test -n "$(EMAIL)" || { echo "usage: make recover-admin EMAIL=admin@example.com [ARGS='--reset-mfa --password-stdin']" >&2; exit 2; }
	@$(PY) -W ignore -m crm_identity.recover_admin --email "$(EMAIL)" $(ARGS)

# every service's database, consistent per database, while the suite runs (crm_common.backup)
backup: venv
	@$(PY) -W ignore -m crm_common.backup create "$${DIR:-var/backups/$$(date -u +%Y%m%dT%H%M%SZ)}"

# the suite stopped first: make restore DIR=var/backups/20261204T120000Z
restore: venv
	@test -n "$(DIR)" || { echo "usage: make restore DIR=var/backups/<when>" >&2; exit 2; }
	@$(PY) -W ignore -m crm_common.backup restore "$(DIR)"

test: venv
	@$(PY) tests/shards.py

test-unit: venv
	@$(PY) -m pytest -m "not integration and not e2e"

test-integration: venv
	@$(PY) -m pytest -m integration

test-e2e: venv
	@$(PY) -m pytest -m e2e

bench: venv
	@$(PY) bench/run_all.py

lint: venv
	@$(PY) -m compileall -q libs services gateway scripts bench tests >/dev/null && echo "compiles"

up:
	@deploy/make-env.sh
	docker compose up --build

down:
	docker compose down

clean:
	rm -rf var .pytest_cache
