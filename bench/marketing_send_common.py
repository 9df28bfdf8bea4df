"""Shared by the campaign send benchmarks (not a benchmark itself): the marketing service on PostgreSQL and a
broker vhost of its own, a fast SMTP sink (smtp_sink.py) in its own process, an audience seeded in bulk."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy.orm import Session

from crm_common import bulk, migrate
from crm_common.config import repo_root
from crm_common.context import Actor
from crm_common.db import make_engine, new_id, utcnow
from crm_common.permissions import BUILTIN_ROLES
from crm_common.rpcclient import RpcPool
from crm_common.testing.harness import PgDatabases, ServiceProcess, Vhost
from crm_common.ports import free_port
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import AudienceMember, Campaign, EmailTemplate, Segment

HERE = Path(__file__).resolve().parent
MARKETER = Actor(user_id="bench-marketer", roles=("marketer",), perms=BUILTIN_ROLES["marketer"])
HTML = ('<html><body><h1>Hello {{ contact.first_name|default("there") }}</h1>'
        '<p>{{ contact.first_name }} {{ contact.last_name }}, here is what {{ account.name }} gets this spring.</p>'
        '<p><a href="https://shop.example.com/spring?c=1">The spring range</a> &middot; '
        '<a href="https://shop.example.com/account">Your account</a> &middot; '
        '<a href="mailto:sales@example.com">Write to us</a></p>'
        '<p style="font-size:11px"><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>')


class Sink:
    def __init__(self, directory: Path):
        self.port, self.counts_path = free_port(), directory / "counts.json"
        self.proc = subprocess.Popen([sys.executable, str(HERE / "smtp_sink.py"), "--port", str(self.port),
                                      "--counts", str(self.counts_path)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def count(self) -> int:
        sys.path.insert(0, str(HERE))
        import smtp_sink
        return smtp_sink.count(self.port)

    def stop(self) -> dict:
        """Stop it; the messages each recipient got."""
        import json
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        return json.loads(self.counts_path.read_text())


class Stack:
    """The marketing service (nameko run) on a PostgreSQL database and a vhost of its own, sending to a sink."""

    def __init__(self, env: dict | None = None):
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-send-"))
        self.vhost = Vhost().create()
        self.pg = PgDatabases(["marketing"], prefix=f"bench_send_{os.getpid()}").create()
        self.url = self.pg.url("marketing")
        migrate.upgrade("marketing", self.url)
        self.engine = make_engine(self.url)
        self.sink = Sink(self.tmp)
        self.env = {"AMQP_URI": self.vhost.uri, "CRM_VAR_DIR": str(self.tmp), "MARKETING_DATABASE_URL": self.url,
                    "CRM_SMTP_URL": self.sink.url, "CRM_SMTP_RATE_PER_SECOND": "1000000",
                    "CRM_SMTP_RATE_PER_MINUTE": "100000000", "CRM_RPC_TIMEOUT": "60", **(env or {})}
        self.proc = None
        self.pool = None

    def start_service(self) -> None:
        self.proc = ServiceProcess("crm_marketing.service:MarketingService", self.env, self.tmp, name="marketing",
                                   config=repo_root() / "services" / "marketing" / "config.yaml")
        self.proc.start().wait_ready("marketing", timeout=60)
        if self.pool is None:
            self.pool = RpcPool(self.vhost.uri, timeout=60, key_file=self.proc.env["CRM_BUS_KEY_FILE"])

    def call(self, method: str, *args, **kwargs):
        return self.pool.call("marketing", method, *args, actor=MARKETER, **kwargs)

    def service_pids(self) -> list[int]:
        """The service process and its children (the job's worker process on PostgreSQL)."""
        return [self.proc.proc.pid, *children(self.proc.proc.pid)]

    def close(self) -> None:
        if self.proc is not None and self.proc.proc.poll() is None:
            self.proc.stop(timeout=10)
        if self.pool is not None:
            self.pool.close()
        if self.sink.proc.poll() is None:
            self.sink.proc.kill()
        self.engine.dispose()
        self.vhost.delete()
        self.pg.drop()


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
                found += children(int(entry.name))
    return found


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM: the peak RSS so far) of one process, in kB."""
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                name, value = line.split(":")
                fields[name] = int(value.split()[0])
    except OSError:
        return 0, 0
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0)


def seed(engine, n: int, tag: str = "") -> tuple[str, list[str]]:
    """n audience members (one COPY), a segment of everyone, a personalised template, a campaign to them."""
    tag = tag or uuid.uuid4().hex[:6]
    addresses = [f"reader{i}-{tag}@example{i % 89}.com" for i in range(n)]
    now = utcnow()
    with Session(engine) as session, session.begin():
        for start in range(0, n, 20000):
            bulk.insert_rows(session, AudienceMember.__table__, [
                {"id": new_id(), "kind": "lead", "source_id": new_id(), "email": a, "email_hash": email_hash(a),
                 "first_name": f"First{start + i}", "last_name": f"Last{start + i}", "company": f"Company {(start + i) // 7}",
                 "score": 0, "tags": [], "created_at": now, "updated_at": now}
                for i, a in enumerate(addresses[start:start + 20000])])
        segment = Segment(name="everyone", rules={"all": []})
        template = EmailTemplate(name="spring", subject="{{ contact.first_name }}, the spring range is here", html=HTML)
        session.add_all([segment, template])
        session.flush()
        campaign = Campaign(name="Spring", type="email", segment_ids=[segment.id], template_id=template.id,
                            from_email="news@shop.example.com", from_name="Shop News")
        session.add(campaign)
        session.flush()
        return campaign.id, addresses


def wait_job(stack: Stack, campaign_id: str, job_id: str, on_progress=None, timeout: float = 3600) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = stack.call("get_send_job", id=campaign_id, job_id=job_id)
        if on_progress is not None:
            on_progress(job)
        if job["status"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


if __name__ == "__main__":  # run_all.py runs bench_*.py only; this holds helpers
    print("helpers of bench_campaign_send.py and bench_send_crash.py")
