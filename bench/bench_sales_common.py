"""Shared by the sales benchmarks (not a benchmark itself): the whole suite on PostgreSQL, lead rows."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from common import RATE_LIMITS
from crm_common import config
from crm_common.testing.harness import PgDatabases, Vhost
from crm_common.ports import free_port

ADMIN_EMAIL, ADMIN_PASSWORD = "bench-admin@crm.test", "Bench-Admin-Passw0rd-2026!"
COUNTRIES = (("US", "+12125{:06d}"), ("DE", "+4930{:08d}"), ("GB", "+44207{:07d}"), ("FR", "+331{:08d}"))
INDUSTRIES = ("software", "retail", "manufacturing", "finance", "health")


@contextmanager
def running_suite():
    """Every service and the gateway on a vhost and PostgreSQL databases of their own; yields (suite, admin, pg)."""
    from crm_common.suite import Suite
    from crm_common.testing.client import ApiClient

    vhost = Vhost().create()
    pg = PgDatabases(list(config.SERVICES) + ["gateway"], prefix=f"bench_sales_{os.getpid()}").create()
    with tempfile.TemporaryDirectory(prefix="bench-sales-") as tmp:
        env = {"AMQP_URI": vhost.uri, "CRM_VAR_DIR": tmp, "CRM_PORT": str(free_port()),
               "CRM_ADMIN_EMAIL": ADMIN_EMAIL, "CRM_ADMIN_PASSWORD": ADMIN_PASSWORD, "CRM_RPC_TIMEOUT": "120",
               "CRM_GATEWAY_WORKERS": "2", "CRM_GATEWAY_THREADS": "8", **RATE_LIMITS}
        for name in pg.services:
            env[f"{name.upper()}_DATABASE_URL"] = pg.url(name)
        suite = Suite(env=env, quiet=True, log_dir=Path(tmp) / "logs")
        try:
            suite.bootstrap()
            suite.start()
            suite.wait_ready(120)
            client = ApiClient(f"http://127.0.0.1:{suite.port}")
            yield suite, client.login(ADMIN_EMAIL, ADMIN_PASSWORD), pg
        finally:
            suite.stop()
            vhost.delete()
            pg.drop()


def lead_row(i: int, tag: str = "") -> dict:
    country, phone = COUNTRIES[i % len(COUNTRIES)]
    width = int(phone[phone.index(":0") + 2])
    return {"first_name": f"First{i}", "last_name": f"Last{i}", "company": f"Company {tag}{i // 3}",
            "email": f"lead{i}{tag}@example{i % 97}.com", "phone": phone.format(i % (10 ** width)),
            "country": country, "industry": INDUSTRIES[i % len(INDUSTRIES)]}


def psycopg2_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://")


if __name__ == "__main__":  # run_all.py runs every bench_*.py: this one only holds helpers
    print("helpers of bench_sales_import.py and bench_sales_list.py")
