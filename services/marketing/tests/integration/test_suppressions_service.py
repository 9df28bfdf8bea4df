"""The marketing service as it runs: `nameko run` on a vhost of the test's own, its database migrated (SQLite
file or PostgreSQL), called over the real broker with signed callers, fed a real privacy request event."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from crm_common.bus import Publisher
from crm_common.context import Context
from crm_common.envelope import make_envelope
from crm_common.errors import ServiceError
from crm_common.testing.waiting import eventually
from crm_marketing.domain import suppressions
from crm_marketing.models import Suppression
from crm_marketing_contracts import SuppressionIn
from services.marketing.tests.integration.harness import MARKETER, REP, Marketing, running

pytestmark = pytest.mark.integration


def entries(marketing) -> dict:
    return {row.id: row for row in marketing.rows(Suppression)}


@pytest.fixture(scope="module")
def marketing(backend, tmp_path_factory):
    yield from running(Marketing(backend, tmp_path_factory.mktemp(f"marketing-{backend}")))


def address() -> str:
    return f"ada-{uuid.uuid4().hex[:8]}@engines.example"


def test_the_suppression_rpcs_over_the_broker(marketing):
    email = address()
    entry = marketing.call("create_suppression", {"email": f" {email.upper()} ", "reason": "hard_bounce",
                                                  "source": "esp"})
    assert (entry["email"], entry["reason"], entry["created_by"], entry["version"]) == (email, "hard_bounce", "mk-1", 1)
    assert entry["created_at"].endswith("Z") and len(entry["created_at"]) == 27  # the one timestamp format
    again = marketing.refused("create_suppression", {"email": email})
    assert again.code == "conflict" and again.extra["existing_id"] == entry["id"]
    assert marketing.call("get_suppression", id=entry["id"]) == entry
    listed = marketing.call("list_suppressions", {"email": email})
    assert [item["id"] for item in listed["items"]] == [entry["id"]] and listed["next_cursor"] is None
    assert marketing.call("check_suppression", {"email": email}) == {"email": email, "suppressed": True,
                                                                     "reason": "hard_bounce"}
    (added,) = [e for e in marketing.outbox("marketing.suppression_added.v1") if e["data"]["id"] == entry["id"]]
    assert (added["entity"], added["action"], added["actor"]["user_id"]) == ("suppression", "create", "mk-1")
    assert email not in str(added)

    assert marketing.call("delete_suppression", id=entry["id"]) is None
    assert marketing.refused("get_suppression", id=entry["id"]).code == "not_found"
    assert marketing.call("check_suppression", {"email": email})["suppressed"] is False
    complaint = marketing.call("create_suppression", {"email": email, "reason": "complaint"})
    kept = marketing.refused("delete_suppression", id=complaint["id"])
    assert kept.code == "conflict" and "cannot be lifted" in kept.detail
    assert entries(marketing)[complaint["id"]].deleted_at is None
    (lifted,) = [e for e in marketing.outbox("marketing.suppression_lifted.v1") if e["data"]["id"] == entry["id"]]
    assert (lifted["entity"], lifted["action"]) == ("suppression", "delete")


def test_a_caller_without_the_permission_or_with_bad_input_changes_nothing(marketing):
    before = entries(marketing)
    email = address()
    assert marketing.refused("create_suppression", {"email": email}, actor=REP).code == "forbidden"
    assert marketing.refused("check_suppression", {"email": email}, actor=REP).code == "forbidden"
    bad = marketing.refused("create_suppression", {"email": "nope", "reason": "erased"})
    assert bad.code == "validation_failed" and set(bad.errors) == {"email", "reason"}
    assert marketing.refused("get_suppression", id=str(uuid.uuid4())).code == "not_found"
    assert entries(marketing).keys() == before.keys()


def test_an_erasure_request_keeps_the_address_suppressed_by_its_hash(marketing):
    email = address()
    entry = marketing.call("create_suppression", {"email": email, "reason": "unsubscribe", "note": f"from {email}"})
    request_id = str(uuid.uuid4())
    publisher = Publisher(marketing.vhost.uri)
    try:
        publisher.publish(make_envelope("identity.privacy_requested.v1",
                                        {"request_id": request_id, "kind": "erasure", "email": email.upper()},
                                        "identity", None, "req-erase"))
    finally:
        publisher.close()
    answer = eventually(lambda: [e for e in marketing.outbox("marketing.privacy_part_completed.v1")
                                 if e["data"]["request_id"] == request_id], until=bool)
    assert answer[0]["data"]["counts"] == {"suppressions": 1} and answer[0]["data"]["status"] == "done"
    row = entries(marketing)[entry["id"]]
    assert (row.email, row.note, row.reason) == (None, None, "erased")
    assert all(email not in str(value) for value in row)
    assert marketing.call("check_suppression", {"email": email}) == {"email": email, "suppressed": True,
                                                                     "reason": "erased"}
    assert marketing.refused("delete_suppression", id=entry["id"]).code == "conflict"


def test_a_writer_that_lost_the_race_gets_the_409_and_its_transaction_goes_on(marketing, monkeypatch):
    """On PostgreSQL a failed INSERT aborts the transaction unless it ran in a savepoint: the loser of two
    concurrent creates still answers with the winner's id, and may go on writing."""
    email = address()
    winner = marketing.call("create_suppression", {"email": email})
    real, calls = suppressions._live, []

    def not_seen_the_first_time(session, digest):  # as if the winner committed just after this look-up
        calls.append(digest)
        return None if len(calls) == 1 else real(session, digest)

    monkeypatch.setattr(suppressions, "_live", not_seen_the_first_time)
    events = []
    with Session(marketing.engine) as session, session.begin():
        ctx = Context(session, MARKETER, lambda type_, data: events.append(type_))
        with pytest.raises(ServiceError) as lost:
            suppressions.create(ctx, SuppressionIn().load({"email": email}))
        assert lost.value.code == "conflict" and lost.value.extra["existing_id"] == winner["id"]
        other = suppressions.create(ctx, SuppressionIn().load({"email": address()})).id
    assert other in entries(marketing) and events == ["marketing.suppression_added.v1"]
