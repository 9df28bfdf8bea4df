"""The deployment files ship no usable default secret (issue 13), and agree with CRM_ENV's rule."""
from __future__ import annotations

import re
import subprocess

import yaml

from crm_common import config
from crm_common.startup import development_secrets

ROOT = config.repo_root()
COMPOSE = (ROOT / "docker-compose.yml").read_text()


def test_compose_has_no_default_for_any_password_and_requires_the_database_ones():
    defaults = re.findall(r"\$\{([A-Z_]*PASSWORD):?-([^}]*)\}", COMPOSE)
    assert [(name, value) for name, value in defaults if value] == []
    required = set(re.findall(r"\$\{([A-Z_]*PASSWORD):\?", COMPOSE))
    assert required == {"POSTGRES_PASSWORD", "IDENTITY_DB_PASSWORD", "SALES_DB_PASSWORD", "SERVICE_DESK_DB_PASSWORD",
                        "MARKETING_DB_PASSWORD", "ANALYTICS_DB_PASSWORD", "AUTOMATION_DB_PASSWORD", "INTEGRATION_DB_PASSWORD",
                        "GATEWAY_DB_PASSWORD"}
    assert "admin-dev-password" not in COMPOSE and "admin@example.com" not in COMPOSE


def test_compose_publishes_the_gateway_on_the_loopback_interface_unless_told_otherwise():
    ports = yaml.safe_load(COMPOSE)["services"]["gateway"]["ports"]
    assert ports == ["${CRM_HTTP_BIND:-127.0.0.1}:${CRM_HTTP_PORT:-8080}:8080"]


def test_make_env_generates_each_secret_once_and_keeps_what_is_there(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SALES_DB_PASSWORD=mine\n")
    run = lambda: subprocess.run(["bash", str(ROOT / "deploy" / "make-env.sh"), str(env_file)],  # noqa: E731
                                 capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"})
    first = run()
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert values["SALES_DB_PASSWORD"] == "mine"
    generated = {k: v for k, v in values.items() if k != "SALES_DB_PASSWORD"}
    expected = {f"{name.upper()}_DB_PASSWORD" for name in config.SERVICES + ("gateway",)} | {"POSTGRES_PASSWORD"}
    assert set(generated) == expected - {"SALES_DB_PASSWORD"}  # one per database, the one set kept
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", v) for v in generated.values())
    assert len(set(generated.values())) == len(generated)
    assert not any(v in first.stdout for v in generated.values())  # named, never shown
    run()
    assert dict(line.split("=", 1) for line in env_file.read_text().splitlines()) == values
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"


def test_every_placeholder_of_the_kubernetes_secrets_is_refused_in_production():
    configmap = yaml.safe_load((ROOT / "deploy" / "k8s" / "configmap.yaml").read_text())
    assert configmap["data"]["CRM_ENV"] == "production"
    secrets = next(doc for doc in yaml.safe_load_all((ROOT / "deploy" / "k8s" / "secrets.yaml").read_text())
                   if doc["metadata"]["name"] == "crm-secrets")["stringData"]
    placeholders = {name for name, value in secrets.items() if "CHANGE_ME" in value and name.endswith(
        ("_PASSWORD", "_URL", "_URI"))}
    assert placeholders >= {"SALES_AMQP_PASSWORD", "GATEWAY_AMQP_PASSWORD", "CRM_ADMIN_PASSWORD", "REDIS_URL", "SALES_DATABASE_URL"}
    flagged = set(development_secrets({**secrets, "AMQP_URI": "amqp://crm:CHANGE_ME@rabbitmq:5672/crm"}))
    assert placeholders <= flagged
