"""Alembic, one environment per service, driven from here.

    python -m crm_common.migrate <service>                      upgrade to head
    python -m crm_common.migrate <service> revision -m "..."    autogenerate a revision
    python -m crm_common.migrate <service> current

A service's migrations live in its package (`crm_<service>/migrations`), its env.py calls
`run_env(metadata)`.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import pool

from crm_common import config, startup
from crm_common.db import make_engine


def alembic_config(service: str, url: str | None = None) -> Config:
    package = importlib.import_module(f"crm_{service}")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    cfg.attributes["database_url"] = url or config.database_url(service)
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    command.upgrade(alembic_config(service, url), "head")


SEARCH_INDEXES = ("_trgm", "_lower")  # name suffixes of the search's indexes (crm_common.search)


def run_env(metadata, include_name=None) -> None:
    """Body of every service's migrations/env.py. `include_name` (alembic's hook) keeps objects that
    migrations create outside the models (e.g. full-text index tables) out of autogenerate; indexes named
    `*_trgm` and `*_lower` (the search's trigram and lowered-prefix indexes on PostgreSQL, made by migrations
    only) always are."""
    url = context.config.attributes["database_url"]
    engine = make_engine(url, poolclass=pool.NullPool)

    def included(name, type_, parent_names):
        if type_ == "index" and name and name.endswith(SEARCH_INDEXES):  # PostgreSQL search indexes: migrations'
            return False
        return include_name(name, type_, parent_names) if include_name else True

    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, include_name=included,
                          render_as_batch=engine.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in config.SERVICES + ("gateway",):
        print(__doc__, file=sys.stderr)
        return 2
    service, rest = argv[0], argv[1:]
    startup.refuse_or_exit(f"{service} migrations", needs_broker=False)
    cfg = alembic_config(service)
    if not rest or rest[0] == "upgrade":
        command.upgrade(cfg, "head")
        print(f"{service}: migrated ({config.redact_uri(cfg.attributes['database_url'])})")
    elif rest[0] == "revision":
        message = rest[rest.index("-m") + 1] if "-m" in rest else "revision"
        command.revision(cfg, message=message, autogenerate=True)
    elif rest[0] == "current":
        command.current(cfg)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
