"""The automation service as the integration tests run it: the service process on a private vhost, its database
(a SQLite file or a PostgreSQL database of the run's own, migrated), a signed RPC pool, a publisher of other
services' events, and the rows it wrote. Import as `from services.automation.tests.integration.harness import
Automation` (pytest runs from the repository's root, `python -m pytest`)."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from crm_common import migrate
from crm_common.bus import Publisher
from crm_common.config import repo_root
from crm_common.context import Actor
from crm_common.db import make_engine
from crm_common.envelope import make_envelope
from crm_common.permissions import BUILTIN_ROLES
from crm_common.rpcclient import RpcPool
from crm_common.testing.harness import PgDatabases, ServiceProcess, Vhost

ADMIN = Actor(user_id="admin-1", roles=("admin",), perms=BUILTIN_ROLES["admin"])


class Automation:
    """The running service; `env` adds to (or overrides) its settings."""

    def __init__(self, backend: str, tmp_path, env: dict | None = None, timeout: float = 10):
        self.vhost = Vhost().create()
        self.pg = PgDatabases(["automation"]).create() if backend == "postgresql" else None
        self.url = self.pg.url("automation") if self.pg else f"sqlite:///{tmp_path / 'automation.db'}"
        migrate.upgrade("automation", self.url)
        self.engine = make_engine(self.url)
        settings = {"AMQP_URI": self.vhost.uri, "CRM_VAR_DIR": str(tmp_path), "AUTOMATION_DATABASE_URL": self.url,
                    "CRM_RETRY_DELAYS": "0.2,0.4", "CRM_OUTBOX_RELAY_INTERVAL": "0.3",
                    "CRM_AUTOMATION_SWEEP_INTERVAL": "0.2", "CRM_AUTOMATION_RETRY_DELAYS": "0.2,0.2",
                    **(env or {})}
        self.proc = ServiceProcess("crm_automation.service:AutomationService", settings, tmp_path, name="automation",
                                   config=repo_root() / "services" / "automation" / "config.yaml")
        self.proc.start().wait_ready("automation")
        self.pool = RpcPool(self.vhost.uri, timeout=timeout, key_file=self.proc.env["CRM_BUS_KEY_FILE"])
        self.publisher = Publisher(self.vhost.uri)

    def call(self, method: str, *args, actor: Actor = ADMIN, **kwargs):
        return self.pool.call("automation", method, *args, actor=actor, **kwargs)

    def publish(self, type_: str, data: dict, entity: str | None = None, action: str | None = None) -> None:
        envelope = make_envelope(type_, data, type_.split(".")[0], None, f"req-{uuid.uuid4().hex[:8]}")
        envelope.update(entity=entity, action=action)
        self.publisher.publish(envelope)

    def rows(self, model, *where) -> list:
        with self.engine.connect() as conn:
            return conn.execute(select(model.__table__).where(*where)).all()

    def close(self) -> None:
        self.proc.stop()
        self.publisher.close()
        self.pool.close()
        self.engine.dispose()
        self.vhost.delete()
        if self.pg is not None:
            self.pg.drop()
