"""CRM_ENV=production refuses known development secrets at start (issue 13)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from crm_common import config
from crm_common.startup import DevelopmentDefaults, development_secrets, refuse_development_defaults

GOOD = {"CRM_ENV": "production", "AMQP_URI": "amqp://crm:Xq7-real-broker-secret@rabbitmq:5672/crm",
        "SALES_DATABASE_URL": "postgresql+psycopg2://sales:k3Y-real-db-secret@postgres:5432/sales",
        "REDIS_URL": "redis://:r3dis-real-secret@redis:6379/0", "CRM_ADMIN_PASSWORD": "An-Adm1n-password-of-its-own"}


def test_production_with_real_secrets_starts():
    refuse_development_defaults("sales", GOOD)


@pytest.mark.parametrize("name, value", [
    ("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
    ("AMQP_URI", "amqp://crm:crm-dev-password@rabbitmq:5672/crm"),
    ("SALES_DATABASE_URL", "postgresql+psycopg2://sales:sales-dev-password@postgres:5432/sales"),
    ("IDENTITY_DATABASE_URL", "postgresql+psycopg2://identity:CHANGE_ME@postgres:5432/identity"),
    ("REDIS_URL", "redis://:CHANGE_ME@redis:6379/0"),
    ("CRM_ADMIN_PASSWORD", "admin-dev-password"),
    ("POSTGRES_PASSWORD", "postgres"),
    ("GATEWAY_DB_PASSWORD", "gateway-dev-password"),
])
def test_production_refuses_each_known_development_secret_and_names_only_the_variable(name, value):
    with pytest.raises(DevelopmentDefaults) as refused:
        refuse_development_defaults("sales", {**GOOD, name: value})
    assert name in str(refused.value)
    password = value.rsplit("@", 1)[0].rsplit(":", 1)[-1] if "://" in value else value
    assert password not in str(refused.value)


def test_production_without_a_broker_uri_refuses_the_built_in_guest_default():
    env = {k: v for k, v in GOOD.items() if k != "AMQP_URI"}
    assert development_secrets(env) and "AMQP_URI" in development_secrets(env)[0]
    with pytest.raises(DevelopmentDefaults):
        refuse_development_defaults("sales", env)
    refuse_development_defaults("sales migrations", env, needs_broker=False)  # a migration needs no broker


def test_development_accepts_the_defaults_and_an_unknown_environment_is_refused():
    refuse_development_defaults("sales", {"CRM_ENV": "development", "AMQP_URI": "amqp://guest:guest@localhost/"})
    refuse_development_defaults("sales", {})
    with pytest.raises(DevelopmentDefaults, match="CRM_ENV"):
        refuse_development_defaults("sales", {"CRM_ENV": "prod"})


def test_a_migration_refuses_to_run_in_production_with_the_compose_defaults(tmp_path):
    env = {**os.environ, "CRM_ENV": "production", "CRM_VAR_DIR": str(tmp_path),
           "AMQP_URI": "amqp://crm:crm-dev-password@rabbitmq:5672/crm"}
    result = subprocess.run([sys.executable, "-m", "crm_common.migrate", "gateway"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "AMQP_URI" in result.stderr and "crm-dev-password" not in result.stderr
    assert not list(tmp_path.glob("*.db"))  # nothing was migrated


def test_a_service_refuses_to_start_in_production_with_the_development_broker_password(tmp_path):
    env = {**os.environ, "CRM_ENV": "production", "CRM_VAR_DIR": str(tmp_path),
           "AMQP_URI": "amqp://crm:crm-dev-password@127.0.0.1:1/crm"}  # nothing listens: refused before it connects
    cmd = [sys.executable, "-m", "nameko", "run", "crm_common.testing.probe:ProbeProducer", "--config",
           "services/identity/config.yaml"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60,
                            cwd=str(config.repo_root()))
    assert result.returncode != 0
    assert "CRM_ENV=production refuses known development secrets" in result.stderr + result.stdout
    assert "crm-dev-password" not in result.stderr + result.stdout


def test_the_admin_seed_refuses_the_development_password_in_production(tmp_path):
    env = {**os.environ, "CRM_ENV": "production", "CRM_VAR_DIR": str(tmp_path),
           "AMQP_URI": "amqp://crm:Xq7-real-broker-secret@127.0.0.1:1/crm", "CRM_ADMIN_PASSWORD": "admin-dev-password"}
    result = subprocess.run([sys.executable, "-m", "crm_identity.seed_admin"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "CRM_ADMIN_PASSWORD" in result.stderr and "admin-dev-password" not in result.stderr
    assert not list(tmp_path.glob("*.db"))
