"""A retry after a replica died past its commit gets the first answer (issue 18): sales runs as two processes on
the same queues and PostgreSQL database, the second with a fault that kills it (SIGKILL) right after a commit
and before its answer. A create sent with an `Idempotency-Key` that reaches it is committed, then unanswered;
the careful client sends it again with the same key (a 503 is never kept by the gateway) and must get 201 with
the lead made the first time -- not a 409 naming its own lead as a duplicate, not a second lead. The key is
kept by sales in the same transaction as the lead (crm_common.idempotency), so the repeat, whichever replica
takes it (the redelivered request, or the client's retry), answers what the commit made, and the answer
carries `Idempotent-Replayed: true` (sales' reply says it is the kept answer; the gateway had no record).
PostgreSQL only: replicas of a service share a server database."""
from __future__ import annotations

import subprocess
import time
import uuid

import pytest
from sqlalchemy import text

from crm_common.testing.waiting import eventually
from tests.e2e.scale_out import admin_of, engine_of, pg_suite, rpc_consumers

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgresql]


def create_until_final(client, body: dict, key: str, retry_for: float = 45):
    """POST the lead with its key, again while the answer is a 5xx, a lost connection or "still being
    processed" (what a careful client does); the final answer and how many attempts it took."""
    deadline, attempts = time.time() + retry_for, 0
    while True:
        attempts += 1
        try:
            response = client.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key}, timeout=30)
        except Exception:  # noqa: BLE001 - a connection error: the outcome is unknown, try again
            response = None
        again = response is None or response.status_code >= 500 or (
            response.status_code == 409 and "still being processed" in response.text)
        if not again or time.time() >= deadline:
            return response, attempts
        time.sleep(0.5)


def test_a_retry_after_a_replica_died_past_its_commit_gets_the_first_answer(fresh_suite_env, capsys):
    with pg_suite({**fresh_suite_env, "CRM_RPC_TIMEOUT": "5"}) as (suite, pg):
        faulty = suite.add_replica("sales", CRM_FAULT="kill_after_commit")
        assert eventually(lambda: rpc_consumers(suite, "sales"), timeout=60, until=lambda n: n == 2) == 2
        admin = admin_of(suite)
        run = uuid.uuid4().hex[:8]
        died = None
        for i in range(20):  # the competing consumers share the writes: one soon reaches the faulty replica
            pid = suite.procs[faulty].pid
            body = {"last_name": f"Retry {i}", "company": f"Retry {run} {i} Ltd", "email": f"retry.{run}.{i}@example.com"}
            key = f"retry-{run}-{i}"
            answer, attempts = create_until_final(admin, body, key)
            proc = suite.procs.get(faulty)
            if proc is not None and proc.pid == pid:
                try:  # its exit is reported a moment after it (the fork server reaps it): not to blame the next write
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
            proc = suite.procs.get(faulty)
            if proc is None or proc.pid != pid or proc.poll() is not None:
                died = (body, key, answer, attempts)
                break
            assert answer is not None and answer.status_code == 201, answer.text
        assert died is not None, "no write reached the replica with the fault"
        body, key, answer, attempts = died
        with engine_of(pg, "sales").connect() as conn:
            leads = [row.id for row in conn.execute(text("SELECT id FROM leads WHERE email = :e"), {"e": body["email"]})]
        with capsys.disabled():
            print(f"\nidempotent retry: the write whose replica died was answered {answer.status_code} after "
                  f"{attempts} attempt(s); leads with its email: {len(leads)}")
        assert len(leads) == 1, leads  # made once, by the attempt that died after its commit
        assert answer.status_code == 201, answer.text  # not a 409 naming its own lead
        assert answer.json()["id"] == leads[0]
        assert answer.headers["Location"].endswith(f"/api/v1/leads/{leads[0]}")
        # the attempt that died left the gateway no record (the broker's redelivery answered it, or a 503 freed
        # the key for the retry), so the final answer came from the key sales kept with the lead: a replay, and
        # it says so as one answered from the gateway's record does
        assert answer.headers.get("Idempotent-Replayed") == "true", answer.headers
        again = admin.post("/api/v1/leads", json=body, headers={"Idempotency-Key": key})
        assert again.status_code == 201 and again.json() == answer.json()
        assert again.headers.get("Idempotent-Replayed") == "true"
        other = admin.post("/api/v1/leads", json={**body, "last_name": "Someone else"}, headers={"Idempotency-Key": key})
        assert other.status_code == 422, other.text
