"""The Idempotency-Key records on PostgreSQL (the gateway's own database): each statement commits on its own
without waiting for the WAL's flush (synchronous_commit off, as SQLite's WAL with synchronous=NORMAL keeps
them), and a key's claim, stored answer and repeat behave as on SQLite."""
from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import text

from crm_common.errors import ServiceError
from crm_common.testing.harness import PgDatabases
from crm_gateway import idempotency
from crm_gateway.models import Base

pytestmark = [pytest.mark.integration, pytest.mark.postgresql]

BODY = {"last_name": "Lovelace", "company": "Analytical Engines"}


@pytest.fixture
def app():
    pg = PgDatabases(["gateway"]).create()
    engine = idempotency.records_engine(pg.url("gateway"))
    try:
        Base.metadata.create_all(engine)
        app = Flask(__name__)
        app.extensions["crm_db"] = engine
        app.calls = 0

        @app.errorhandler(ServiceError)
        def problem(exc):
            return {"title": str(exc)}, 409 if exc.code == "conflict" else 422

        @app.post("/api/v1/leads")
        @idempotency.idempotent
        def create():
            app.calls += 1
            return {"id": f"lead-{app.calls}", **BODY}, 201, {"Location": f"/api/v1/leads/lead-{app.calls}"}

        yield app
    finally:
        engine.dispose()
        pg.drop()


def post(client, body=BODY, key="pg-retry-key-0001"):
    return client.post("/api/v1/leads", data=json.dumps(body), content_type="application/json",
                       headers={"Idempotency-Key": key})


def test_the_records_commit_without_waiting_for_the_flush_and_a_repeat_replays_the_first_answer(app):
    engine = app.extensions["crm_db"]
    with engine.connect() as conn:
        assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "off"
    client = app.test_client()
    first = post(client)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    with engine.connect() as conn:  # committed: another connection sees the stored answer
        status = conn.execute(text("SELECT status FROM idempotency_records WHERE key = 'pg-retry-key-0001'")).scalar_one()
    assert status == 201
    again = post(client)
    assert again.status_code == 201 and again.get_json() == first.get_json() and app.calls == 1
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["Location"] == "/api/v1/leads/lead-1"
    assert post(client, {**BODY, "company": "Other"}).status_code == 422 and app.calls == 1
