"""Idempotency-Key records keep only final answers (issue 18): a 5xx -- a service down, or one that died after its
commit and before its answer (503, outcome unknown) -- is never stored, so the client's retry with the same key
runs again instead of being handed the 503 for a day; the first final answer is then replayed as it was."""
from __future__ import annotations

import json

import pytest
from flask import Flask, jsonify

from crm_common.db import make_engine
from crm_common.errors import ServiceError
from crm_gateway import idempotency
from crm_gateway.models import Base

BODY = {"last_name": "Lovelace", "company": "Analytical Engines"}


@pytest.fixture
def app(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    Base.metadata.create_all(engine)
    app = Flask(__name__)
    app.extensions["crm_db"] = engine
    app.answers = []  # what the "service" answers, one per call that reaches it
    app.calls = 0

    @app.errorhandler(ServiceError)
    def problem(exc):
        return jsonify({"title": str(exc)}), 503

    @app.post("/api/v1/leads")
    @idempotency.idempotent
    def create():
        app.calls += 1
        answer = app.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    yield app
    engine.dispose()


def post(client, key="retry-key-0001", body=BODY):
    return client.post("/api/v1/leads", data=json.dumps(body), content_type="application/json",
                       headers={"Idempotency-Key": key})


@pytest.mark.parametrize("first", [ServiceError("timeout", "the sales service did not answer in time"),
                                   ({"title": "Service unavailable"}, 503)],
                         ids=["raised", "answered"])
def test_a_503_is_not_kept_and_the_retry_gets_the_final_answer_which_is_then_replayed(app, first):
    app.answers[:] = [first, ({"id": "lead-1", **BODY}, 201, {"Location": "/api/v1/leads/lead-1"})]
    client = app.test_client()
    assert post(client).status_code == 503
    retry = post(client)
    assert retry.status_code == 201 and retry.get_json()["id"] == "lead-1"
    assert "Idempotent-Replayed" not in retry.headers
    again = post(client)
    assert app.calls == 2  # the third reached no service
    assert again.status_code == 201 and again.get_json() == retry.get_json()
    assert again.headers["Location"] == "/api/v1/leads/lead-1" and again.headers["Idempotent-Replayed"] == "true"


def test_a_final_refusal_is_kept_and_another_body_under_the_key_is_a_422(app):
    app.answers[:] = [({"title": "Conflict", "duplicates": []}, 409)]
    client = app.test_client()
    assert post(client).status_code == 409
    assert post(client).status_code == 409 and app.calls == 1  # a 4xx is an answer: replayed
    with pytest.raises(ServiceError) as refused:
        with app.test_request_context("/api/v1/leads", method="POST", data=json.dumps({**BODY, "company": "Other"}),
                                      headers={"Idempotency-Key": "retry-key-0001"}):
            idempotency.idempotent(lambda: None)()
    assert refused.value.code == "validation_failed" and app.calls == 1
