"""Configuration from the environment over defaults. One place reads os.environ."""
from __future__ import annotations

import os
import re
from pathlib import Path

SERVICES = ("identity", "sales", "service_desk", "marketing", "analytics", "automation", "integration")
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def env_float(name: str, default: float) -> float:
    return float(env(name, str(default)))


def repo_root() -> Path:
    return Path(__file__).resolve().parents[4]


def var_dir() -> Path:
    path = Path(env("CRM_VAR_DIR", str(Path.cwd() / "var")))
    path.mkdir(parents=True, exist_ok=True)
    return path


def amqp_uri() -> str:
    return env("AMQP_URI", DEFAULT_AMQP_URI)


def uri_user(uri: str) -> str:
    """The user name in an AMQP URI (guest when it names none, as the broker assumes)."""
    from urllib.parse import unquote, urlsplit
    user = urlsplit(uri).username
    return unquote(user) if user else "guest"


def broker_user(service: str) -> str:
    """The broker user that `service` connects as: CRM_BROKER_USER_PREFIX + service when every service
    has its own (make run, compose, Kubernetes), else the one user of AMQP_URI (a developer's broker)."""
    prefix = env("CRM_BROKER_USER_PREFIX")
    return f"{prefix}{service}" if prefix else uri_user(amqp_uri())


def redact_uri(uri: str) -> str:
    """The URI with its password replaced, for messages and logs."""
    return re.sub(r"(//[^:/@]+:)[^@]*@", r"\1***@", uri)


def database_url(service: str) -> str:
    """`<SERVICE>_DATABASE_URL` if set, else a SQLite file under var/."""
    url = env(f"{service.upper()}_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{var_dir() / (service + '.db')}"


def rpc_timeout() -> float:
    return env_float("CRM_RPC_TIMEOUT", 10.0)


def retry_delays() -> list[float]:
    """Seconds a failed event waits before each retry; after the last, it is dead-lettered."""
    raw = env("CRM_RETRY_DELAYS", "1,5,30,120")
    return [float(x) for x in raw.split(",") if x.strip()]


def queue_type() -> str:
    value = env("CRM_QUEUE_TYPE", "classic")
    if value not in ("classic", "quorum"):
        raise ValueError("CRM_QUEUE_TYPE must be classic or quorum")
    return value


def nameko_config(service: str) -> dict:
    """The nameko config a service runs with (also used by tests and tools)."""
    return {
        "AMQP_URI": amqp_uri(),
        "max_workers": env_int("CRM_MAX_WORKERS", 10),
        "parent_calls_tracked": 10,
        "SERIALIZER": "json",
        "DATABASE_URL": database_url(service),
    }
