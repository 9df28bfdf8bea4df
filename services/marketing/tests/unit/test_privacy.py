"""Privacy requests: an erased address keeps being suppressed by its hash alone; an export answers the entry."""
from __future__ import annotations

from sqlalchemy import select, text

import crm_marketing_contracts as c
from crm_common.envelope import make_envelope
from crm_common.entrypoint import dispatch
from crm_common.privacy import PRIVACY_REQUESTED
from crm_marketing import handlers
from crm_marketing.domain import suppressions
from crm_marketing.models import Suppression

ADDRESS = "grace.hopper@navy.example"


def add(ctx, **body):
    return suppressions.create(ctx, c.SuppressionIn().load(body))


def request(kind: str, email: str = ADDRESS) -> dict:
    return make_envelope(PRIVACY_REQUESTED, {"request_id": "pr-1", "kind": kind, "email": email,
                                             "requested_by": "admin"}, "identity", None, "req-9")


def test_erasure_keeps_the_address_suppressed_by_its_hash_and_leaves_no_readable_copy(make_ctx, marketer, events):
    entry = add(marketer, email=ADDRESS, reason="complaint", note=f"wrote from {ADDRESS}")
    lifted = add(marketer, email="other@navy.example")
    suppressions.lift(marketer, lifted.id)
    events.clear()
    system = make_ctx()
    assert dispatch(system, request("erasure", "  Grace.Hopper@NAVY.example"), handlers.HANDLERS)
    assert (entry.email, entry.note, entry.reason) == (None, None, "erased")
    assert entry.email_hash == suppressions.email_hash(ADDRESS) and entry.version == 2
    assert events == [(c.RECORD_CHANGED, {"entity": "suppression", "id": entry.id, "action": "update",
                                          "changed_fields": ["email", "note", "reason"]}),
                      (c.PRIVACY_PART_COMPLETED, {"request_id": "pr-1", "service": "marketing", "status": "done",
                                                  "data": None, "counts": {"suppressions": 1}})]
    rows = marketer.session.execute(text("SELECT * FROM suppressions")).all()
    assert rows and all(ADDRESS not in str(value) for row in rows for value in row)
    assert suppressions.check(marketer, {"email": ADDRESS}) == {"email": ADDRESS, "suppressed": True,
                                                                "reason": "erased"}
    found = suppressions.page(marketer, c.SuppressionQuery().load({"email": ADDRESS}))["items"]
    assert [e.id for e in found] == [entry.id]
    assert suppressions.page(marketer, c.SuppressionQuery().load({"q": "grace"}))["items"] == []


def test_erasure_deletes_the_lifted_entries_of_the_address(make_ctx, marketer, events):
    gone = add(marketer, email=ADDRESS, reason="hard_bounce")
    suppressions.lift(marketer, gone.id)
    live = add(marketer, email=ADDRESS, reason="unsubscribe")
    events.clear()
    assert suppressions.erase(make_ctx(), ADDRESS) == {"suppressions": 2}
    assert marketer.session.execute(select(Suppression.id)).scalars().all() == [live.id]
    deleted = {"entity": "suppression", "id": gone.id, "action": "delete", "changed_fields": []}
    assert deleted in events.of(c.RECORD_CHANGED)


def test_erasing_an_address_the_list_does_not_hold_suppresses_it_by_its_hash_from_then_on(make_ctx, marketer, events):
    kept = add(marketer, email="someone@navy.example")
    events.clear()
    dispatch(make_ctx(), request("erasure", " Grace.Hopper@navy.example"), handlers.HANDLERS)
    assert kept.email == "someone@navy.example" and kept.reason == "manual"
    assert events.of(c.PRIVACY_PART_COMPLETED)[0]["counts"] == {"suppressions": 1}
    (added,) = events.of(c.SUPPRESSION_ADDED)
    assert added["reason"] == "erased" and "email" not in added
    assert suppressions.check(marketer, {"email": ADDRESS}) == {"email": ADDRESS, "suppressed": True,
                                                                "reason": "erased"}
    rows = marketer.session.execute(text("SELECT * FROM suppressions")).all()
    assert all(ADDRESS not in str(value) for row in rows for value in row)
    with_hash = marketer.session.execute(select(Suppression).where(
        Suppression.email_hash == suppressions.email_hash(ADDRESS))).scalar_one()
    assert with_hash.email is None and with_hash.id == added["id"]


def test_export_answers_the_entry_and_the_lifted_ones(make_ctx, marketer, events):
    lifted = add(marketer, email=ADDRESS, reason="manual", note="by mistake")
    suppressions.lift(marketer, lifted.id)
    live = add(marketer, email=ADDRESS, reason="complaint", source="esp")
    events.clear()
    dispatch(make_ctx(), request("export"), handlers.HANDLERS)
    (part,) = events.of(c.PRIVACY_PART_COMPLETED)
    assert part["counts"] == {"suppressions": 2} and part["status"] == "done"
    first, second = part["data"]["suppressions"]
    assert (first["id"], first["email"], first["reason"], first["source"]) == (live.id, ADDRESS, "complaint", "esp")
    assert (second["id"], second["note"]) == (lifted.id, "by mistake") and second["lifted_at"].endswith("Z")
    assert live.email == ADDRESS  # an export changes nothing, and is recorded
    assert [(data["id"], data["action"]) for data in events.of(c.RECORD_CHANGED)] == [(live.id, "export"),
                                                                                     (lifted.id, "export")]


def test_a_request_of_a_kind_marketing_does_not_know_is_answered_as_failed(make_ctx, events):
    dispatch(make_ctx(), request("rectify"), handlers.HANDLERS)
    assert events.of(c.PRIVACY_PART_COMPLETED) == [{"request_id": "pr-1", "service": "marketing", "status": "failed",
                                                    "data": None, "counts": {}}]
