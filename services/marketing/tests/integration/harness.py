"""The marketing service as the integration tests run it: the service process on a private vhost, its
database (a SQLite file or a PostgreSQL database of the run's own, migrated), a signed RPC pool, and the
rows it wrote. Import as `from services.marketing.tests.integration.harness import Marketing` (pytest
runs from the repository's root, `python -m pytest`)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_common import migrate, tables
from crm_common.config import repo_root
from crm_common.context import Actor
from crm_common.db import make_engine
from crm_common.errors import ServiceError
from crm_common.permissions import BUILTIN_ROLES
from crm_common.rpcclient import RpcPool
from crm_common.testing.harness import PgDatabases, ServiceProcess, Vhost
from crm_marketing.models import Base

MARKETER = Actor(user_id="mk-1", roles=("marketer",), perms=BUILTIN_ROLES["marketer"])
ANALYST = Actor(user_id="an-1", roles=("analyst",), perms=BUILTIN_ROLES["analyst"])
REP = Actor(user_id="rep-1", roles=("sales_rep",), perms=BUILTIN_ROLES["sales_rep"])
_DEFAULT = object()


class Marketing:
    """The running service; `env` adds to (or overrides) its settings, `actor` is who calls by default."""

    def __init__(self, backend: str, tmp_path, env: dict | None = None, actor: Actor | None = MARKETER,
                 timeout: float = 10):
        self.actor = actor
        self.vhost = Vhost().create()
        self.pg = PgDatabases(["marketing"]).create() if backend == "postgresql" else None
        self.url = self.pg.url("marketing") if self.pg else f"sqlite:///{tmp_path / 'marketing.db'}"
        migrate.upgrade("marketing", self.url)
        self.engine = make_engine(self.url)
        settings = {"AMQP_URI": self.vhost.uri, "CRM_VAR_DIR": str(tmp_path), "MARKETING_DATABASE_URL": self.url,
                    "CRM_RETRY_DELAYS": "0.2,0.4", "CRM_OUTBOX_RELAY_INTERVAL": "0.3", **(env or {})}
        self.proc = ServiceProcess("crm_marketing.service:MarketingService", settings, tmp_path, name="marketing",
                                   config=repo_root() / "services" / "marketing" / "config.yaml")
        self.proc.start().wait_ready("marketing")
        self.pool = RpcPool(self.vhost.uri, timeout=timeout, key_file=self.proc.env["CRM_BUS_KEY_FILE"])

    def call(self, method: str, *args, actor=_DEFAULT, **kwargs):
        return self.pool.call("marketing", method, *args, actor=self.actor if actor is _DEFAULT else actor, **kwargs)

    def refused(self, method: str, *args, **kwargs) -> ServiceError:
        with pytest.raises(ServiceError) as raised:
            self.call(method, *args, **kwargs)
        return raised.value

    def rows(self, model, *where) -> list:
        with self.engine.connect() as conn:
            return conn.execute(select(model.__table__).where(*where)).all()

    def outbox(self, type_: str) -> list[dict]:
        table = Base.metadata.tables[tables.OUTBOX]
        with self.engine.connect() as conn:
            return [row.envelope for row in conn.execute(select(table).where(table.c.type == type_))]

    def close(self) -> None:
        self.proc.stop()
        self.pool.close()
        self.engine.dispose()
        self.vhost.delete()
        if self.pg is not None:
            self.pg.drop()


def running(service: Marketing):
    """A fixture's body: yield the service, close it afterwards."""
    try:
        yield service
    finally:
        service.close()
