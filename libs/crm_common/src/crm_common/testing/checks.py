"""Checks every service's own tests run: its migrations reach head and match its models."""
from __future__ import annotations

from contextlib import contextmanager

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from crm_common import migrate, tables
from crm_common.db import make_engine


def assert_migrations_match_models(service: str, url: str, metadata) -> None:
    """Upgrade an empty database to head; the schema must then be exactly what the models declare."""
    migrate.upgrade(service, url)
    engine = make_engine(url)
    try:
        names = set(inspect(engine).get_table_names())
        assert {tables.OUTBOX, tables.INBOX, tables.DEAD_LETTERS} <= names, names
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
        assert diff == [], f"models and migrations of {service} differ: {diff}"
    finally:
        engine.dispose()


@contextmanager
def database_at(service: str, revision: str, backend: str, tmp_path):
    """A database of `service` of its own (a SQLite file under `tmp_path`, or a PostgreSQL database dropped
    afterwards) upgraded to `revision`: (its engine, a function that upgrades it to head), for a test of what an
    upgrade does to rows written before it."""
    from crm_common.testing.harness import database_engine
    with database_engine(backend, service, None, tmp_path) as engine:
        cfg = migrate.alembic_config(service, engine.url.render_as_string(hide_password=False))
        command.upgrade(cfg, revision)
        yield engine, lambda: command.upgrade(cfg, "head")
