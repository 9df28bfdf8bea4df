"""In production, refuse to start with a known development secret.

`CRM_ENV` is `development` (the default) or `production`. With `production`, every process of the
suite (services, gateway, migrations, the admin seed) refuses to start when its environment holds a
known development secret:

- a variable whose name ends in `_PASSWORD` whose value is one, or
- a `*_URL` / `*_URI` variable (database, broker, Redis) with one as its password, or
- no `AMQP_URI` at all, for a process that uses the broker (the built-in default is RabbitMQ's
  `guest:guest`).

Known development secrets: `guest`, anything ending in `-dev-password` (the compose defaults of
earlier releases), anything containing `change_me` or `changeme` (the templates' placeholders), and
a few well-known words (`password`, `admin`, `postgres`, `secret`). The message names the
variables, never their values.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit


ENVIRONMENTS = ("development", "production")
WELL_KNOWN = frozenset({"guest", "password", "admin", "postgres", "secret"})


class DevelopmentDefaults(RuntimeError):
    """Raised at start: production configured with a development secret (or CRM_ENV unknown)."""


def environment(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    value = (env.get("CRM_ENV") or "development").strip().lower()
    if value not in ENVIRONMENTS:
        raise DevelopmentDefaults(f"CRM_ENV must be one of {', '.join(ENVIRONMENTS)}")
    return value


def is_development_secret(value: str | None) -> bool:
    if not value:
        return False
    lowered = value.strip().lower()
    squeezed = re.sub(r"[^a-z0-9]", "", lowered)
    return lowered in WELL_KNOWN or lowered.endswith("-dev-password") or "changeme" in squeezed


def _url_password(value: str) -> str | None:
    try:
        return urlsplit(value).password
    except ValueError:
        return None


def development_secrets(env: Mapping[str, str] | None = None, needs_broker: bool = True) -> list[str]:
    """The names of the variables in `env` that hold a known development secret (sorted)."""
    env = os.environ if env is None else env
    found = set()
    for name, value in env.items():
        if name.endswith("_PASSWORD") and is_development_secret(value):
            found.add(name)
        elif name.endswith(("_URL", "_URI")) and "://" in (value or "") \
                and is_development_secret(_url_password(value)):
            found.add(name)
    if needs_broker and not env.get("AMQP_URI"):
        found.add("AMQP_URI (unset: the built-in default logs in as guest)")
    return sorted(found)


def refuse_development_defaults(process: str, env: Mapping[str, str] | None = None,
                                needs_broker: bool = True) -> None:
    """Raise DevelopmentDefaults when CRM_ENV=production and `env` holds a development secret."""
    if environment(env) != "production":
        return
    names = development_secrets(env, needs_broker)
    if names:
        raise DevelopmentDefaults(
            f"{process}: CRM_ENV=production refuses known development secrets; set real ones in: "
            + ", ".join(names) + " (see SECURITY.md, 'Secrets and defaults')")


def refuse_or_exit(process: str, needs_broker: bool = True) -> None:
    """For command-line entry points: the refusal as one line on stderr and exit status 2."""
    try:
        refuse_development_defaults(process, needs_broker=needs_broker)
    except DevelopmentDefaults as exc:
        raise SystemExit(f"error: {exc}") from None
