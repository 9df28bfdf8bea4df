"""Backup and restore (`python -m crm_common.backup`): a backup taken while the suite runs brings every
database back to its moment: what was written before it is there after a restore, what came after is gone,
and the restored suite works on (new writes, their events). A restore refuses while a suite runs."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from crm_common import config
from crm_common.suite import Suite
from crm_common.testing.client import ApiClient
from crm_common.testing.harness import PgDatabases
from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e
BACKENDS = [b for b in os.environ.get("CRM_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
ROOT = Path(__file__).resolve().parents[2]


def tool(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm_common.backup", *args], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def started(env: dict) -> tuple[Suite, ApiClient]:
    """A suite started and ready, with an administrator signed in; one that fails to start is stopped here (the
    caller never holds it), mail catcher and all."""
    suite = Suite(env=env, quiet=True, log_dir=Path(env["CRM_VAR_DIR"]) / "logs")
    try:
        suite.bootstrap()
        suite.start()
        suite.wait_ready(90)
    except BaseException:
        suite.stop()
        raise
    return suite, ApiClient(f"http://127.0.0.1:{suite.port}").login(env["CRM_ADMIN_EMAIL"], env["CRM_ADMIN_PASSWORD"])


def lead(admin, name):
    made = admin.post("/api/v1/leads", json={"last_name": name, "company": f"{name} Ltd",
                                              "email": f"{name.lower()}.{uuid.uuid4().hex[:6]}@example.com"})
    assert made.status_code == 201, made.text
    return made.json()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_restore_brings_every_database_back_to_the_backups_moment(fresh_suite_env, backend, tmp_path):
    env, pg = dict(fresh_suite_env), None
    if backend == "postgresql":
        pg = PgDatabases(list(config.SERVICES) + ["gateway"]).create()
        env.update({f"{name.upper()}_DATABASE_URL": pg.url(name) for name in pg.services})
    folder = tmp_path / "backup"
    suite = None
    try:
        suite, admin = started(env)
        before = lead(admin, "Before")
        eventually(lambda: admin.get("/api/v1/audit", params={"entity_id": before["id"]}).json()["items"])
        made = tool(env, "create", str(folder))
        assert made.returncode == 0, made.stderr
        assert f"created {len(config.SERVICES) + 1} databases" in made.stdout
        after = lead(admin, "After")

        refused = tool(env, "restore", str(folder))  # the suite still runs
        assert refused.returncode == 1 and "another CRM suite is running" in refused.stderr

        suite.stop()
        suite.remove_broker_users()
        restored = tool(env, "restore", str(folder))
        assert restored.returncode == 0, restored.stderr

        suite, admin = started(env)
        assert admin.get(f"/api/v1/leads/{before['id']}").status_code == 200
        assert admin.get(f"/api/v1/leads/{after['id']}").status_code == 404
        audited = admin.get("/api/v1/audit", params={"entity_id": before["id"]}).json()["items"]
        assert "create" in {entry["action"] for entry in audited}
        later = lead(admin, "Later")  # the restored suite writes and its events flow
        assert eventually(lambda: admin.get("/api/v1/audit", params={"entity_id": later["id"]}).json()["items"],
                          timeout=20)
    finally:
        if suite is not None:
            suite.stop()
            suite.remove_broker_users()
        if pg is not None:
            pg.drop()
