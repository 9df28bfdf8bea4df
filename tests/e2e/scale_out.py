"""What the scale-out tests (replicas, a broker restart, two gateways) share: a suite on PostgreSQL of a test's
own, a load of lead creates through the gateway, and the counts of lost and duplicated effects read from the
services' databases (the leads, sales' outbox, and each consumer's inbox and audit trail).

Import as `from tests.e2e.scale_out import ...` (pytest runs from the repository root).
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from crm_common import config, topology
from crm_common.suite import Suite
from crm_common.testing.client import ApiClient
from crm_common.testing.harness import PgDatabases, suite_report
from crm_common.testing.waiting import eventually

LEAD_CREATED = "sales.lead_created.v1"


@contextmanager
def pg_suite(env: dict, supervised: bool = True):
    """A whole suite on PostgreSQL databases of its own (dropped after), supervised (a process that dies is
    restarted) when `supervised`. Yields (suite, databases)."""
    pg = PgDatabases(list(config.SERVICES) + ["gateway"]).create()
    env = {**env, **{f"{name.upper()}_DATABASE_URL": pg.url(name) for name in pg.services}}
    suite = Suite(env=env, quiet=True, log_dir=Path(env["CRM_VAR_DIR"]) / "logs")
    done = threading.Event()
    try:
        suite.bootstrap()
        suite.start()
        suite.wait_ready(120)
        if supervised:
            threading.Thread(target=suite.watch, args=(done.is_set, 0.2), daemon=True).start()
        yield suite, pg
    except BaseException:
        print(suite_report(suite))  # shown with the failure (pytest's captured output)
        raise
    finally:
        done.set()
        suite.stop()
        suite.remove_broker_users()
        pg.drop()


def admin_of(suite: Suite, port: int | None = None) -> ApiClient:
    base = f"http://127.0.0.1:{port or suite.port}"
    return ApiClient(base).login(suite.env["CRM_ADMIN_EMAIL"], suite.env["CRM_ADMIN_PASSWORD"])


def rpc_consumers(suite: Suite, service: str) -> int:
    """How many processes consume `service`'s RPC queue now (0 when the broker cannot say)."""
    from kombu import Connection
    try:
        with Connection(suite.env["AMQP_URI"], connect_timeout=3) as conn:
            channel = conn.channel()
            try:
                return channel.queue_declare(f"rpc-{service}", passive=True)[2]
            finally:
                channel.close()
    except Exception:
        return 0


@dataclass
class Load:
    """The outcome of each write: email -> (final status, lead id when created or found, attempts)."""
    results: dict = field(default_factory=dict)
    refusals: dict = field(default_factory=dict)  # email -> the body of a final answer other than 201
    lock: threading.Lock = field(default_factory=threading.Lock)

    def done(self) -> int:
        with self.lock:
            return len(self.results)

    def statuses(self) -> Counter:
        return Counter(status for status, _, _ in self.results.values())

    def acknowledged(self) -> dict:
        """email -> lead id, for every write answered 201."""
        return {email: lead_id for email, (status, lead_id, _) in self.results.items() if status == 201}


def write_leads(admin: ApiClient, count: int, threads: int = 8, retry_for: float = 0.0, tag: str = "load",
                load: Load | None = None) -> Load:
    """`count` lead creates through the gateway from `threads` clients, each with an Idempotency-Key. With
    `retry_for`, a write refused with a 5xx or a connection error (or a 409 while its first attempt still
    runs) is sent again with the same key for up to that many seconds, as a careful client does. `load`: the
    record to fill, for a caller that watches the progress from another thread."""
    load = Load() if load is None else load
    run = uuid.uuid4().hex[:8]

    def one(i: int) -> None:
        client = admin.clone(token=admin.token)
        email = f"{tag}.{run}.{i}@example.com"
        body = {"last_name": f"Load {i}", "company": f"Load {run} {i} Ltd", "email": email}
        key, attempts, deadline = f"{tag}-{run}-{i}", 0, time.time() + retry_for
        while True:
            attempts += 1
            try:
                response = client.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key}, timeout=30)
                status = response.status_code
                lead_id = _lead_of(response)
            except requests.RequestException as exc:
                status, lead_id, response = 0, None, exc
            again = status == 0 or status >= 500 or (status == 409 and _still_running(response))
            if not again or time.time() >= deadline:
                break
            time.sleep(0.5)
        with load.lock:
            load.results[email] = (status, lead_id, attempts)
            if status != 201:
                load.refusals[email] = getattr(response, "text", str(response))[:500]

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(count)))
    return load


def _lead_of(response) -> str | None:
    """The lead a 201 made, or the one with the write's email a 409 found already there."""
    if response.status_code == 201:
        return response.json().get("id")
    if response.status_code == 409:
        same_email = [d.get("id") for d in response.json().get("duplicates") or [] if "email" in d.get("matched_on", [])]
        return same_email[0] if len(same_email) == 1 else None
    return None


def _still_running(response) -> bool:
    try:
        return "still being processed" in response.json().get("detail", "")
    except ValueError:
        return False


def engine_of(pg: PgDatabases, service: str):
    """An engine keeping no connection open between uses (the server's connections are shared by everyone)."""
    return create_engine(pg.url(service), poolclass=NullPool)


def consumers_of(event_type: str) -> list[str]:
    """The services whose event queue is bound to `event_type`."""
    producer = event_type.split(".", 1)[0]
    return sorted(name for name, declared in topology.subscriptions().items()
                  if declared == topology.ALL or event_type in declared or producer in declared)


def effects(pg: PgDatabases, load: Load) -> dict:
    """Lost and duplicated effects of a load, from the databases:
    - lost_writes: writes answered 201 whose lead is not there under the id answered;
    - found_own: writes answered 409 because an earlier attempt of theirs had made the lead (a replica killed
      after its commit, before its answer: the repeat finds the lead as a duplicate, the one with its email);
    - other_conflicts: writes answered 409 for any other reason;
    - duplicated_writes: emails of the load with more than one lead;
    - duplicated_events: leads of the load with more than one lead_created event in sales' outbox;
    - unpublished: outbox rows of the load not yet published;
    - undelivered[consumer]: lead_created events of the load missing from the consumer's inbox;
    - audited_twice / unaudited: leads of the load with more than one / no 'create' in identity's audit trail."""
    ours = {email for email in load.results}
    with engine_of(pg, "sales").connect() as conn:
        leads = [(row.id, row.email) for row in conn.execute(text("SELECT id, email FROM leads"))
                 if row.email in ours]
        outbox = [(row.event_id, row.envelope, row.published_at) for row in conn.execute(
            text("SELECT event_id, envelope, published_at FROM crm_outbox WHERE type = :t"), {"t": LEAD_CREATED})]
    lead_ids = {lead_id for lead_id, _ in leads}
    per_email = Counter(email for _, email in leads)
    events = [(event_id, _data_id(envelope), published) for event_id, envelope, published in outbox
              if _data_id(envelope) in lead_ids]
    per_lead = Counter(lead_id for _, lead_id, _ in events)
    event_ids = {event_id for event_id, _, _ in events}
    undelivered = {}
    for consumer in consumers_of(LEAD_CREATED):
        if consumer not in pg.services:
            continue
        claims = "an_events" if consumer == "analytics" else "crm_inbox"  # analytics' log is its claim record
        with engine_of(pg, consumer).connect() as conn:
            seen = {row[0] for row in conn.execute(text(f"SELECT event_id FROM {claims} WHERE type = :t"),
                                                   {"t": LEAD_CREATED})}
        undelivered[consumer] = len(event_ids - seen)
    with engine_of(pg, "identity").connect() as conn:
        audited = Counter(row[0] for row in conn.execute(text(
            "SELECT entity_id FROM audit_entries WHERE event_type = :t"), {"t": LEAD_CREATED}) if row[0] in lead_ids)
    acknowledged = load.acknowledged()
    conflicts = {email: lead_id for email, (status, lead_id, _) in load.results.items() if status == 409}
    found_own = sum(1 for email, lead_id in conflicts.items() if (lead_id, email) in set(leads))
    return {
        "found_own": found_own,
        "other_conflicts": len(conflicts) - found_own,
        "leads": len(leads),
        "lost_writes": sum(1 for email, lead_id in acknowledged.items() if (lead_id, email) not in set(leads)),
        "duplicated_writes": sum(1 for n in per_email.values() if n > 1),
        "duplicated_events": sum(1 for n in per_lead.values() if n > 1),
        "missing_events": len(lead_ids - set(per_lead)),
        "unpublished": sum(1 for _, _, published in events if published is None),
        "undelivered": undelivered,
        "audited_twice": sum(1 for n in audited.values() if n > 1),
        "unaudited": len(lead_ids - set(audited)),
    }


def _data_id(envelope) -> str | None:
    if isinstance(envelope, str):
        import json
        envelope = json.loads(envelope)
    return (envelope.get("data") or {}).get("id")


def settled(pg: PgDatabases, load: Load, timeout: float = 90) -> dict:
    """The effects once every event of the load is published and delivered (or the timeout passed)."""
    return eventually(lambda: effects(pg, load), timeout=timeout, interval=1,
                      until=lambda e: not e["unpublished"] and not any(e["undelivered"].values())
                      and not e["unaudited"])
