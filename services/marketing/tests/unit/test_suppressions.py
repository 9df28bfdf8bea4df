"""The suppression list's rules: one entry per address, filters, who may lift what, the send-time check."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

import crm_marketing_contracts as c
from crm_common.errors import ServiceError
from crm_marketing.domain import suppressions
from crm_marketing.models import Suppression


def add(ctx, **body):
    return suppressions.create(ctx, c.SuppressionIn().load(body))


def query(**args):
    return c.SuppressionQuery().load(args)


def emails(page):
    return [entry.email for entry in page["items"]]


def refused(fn, *args, code="conflict", **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        fn(*args, **kwargs)
    assert raised.value.code == code, raised.value
    return raised.value


def test_an_entry_is_stored_trimmed_and_lower_cased_and_announced_without_the_address(marketer, events):
    entry = add(marketer, email="  Ada.Lovelace@Engines.EXAMPLE ", note="asked by phone")
    assert (entry.email, entry.reason, entry.source, entry.created_by) == (
        "ada.lovelace@engines.example", "manual", "api", "mk-1")
    assert entry.email_hash == suppressions.email_hash("ada.lovelace@engines.example") and len(entry.email_hash) == 64
    dumped = c.Suppression().dump(entry)
    assert dumped["created_at"].endswith("Z") and dumped["version"] == 1 and "email_hash" not in dumped
    assert events == [(c.SUPPRESSION_ADDED, {"id": entry.id, "reason": "manual", "source": "api"})]


def test_a_second_entry_for_the_address_is_a_409_naming_the_first(marketer, events):
    first = add(marketer, email="ada@engines.example", reason="hard_bounce", source="esp")
    again = refused(add, marketer, email="ADA@engines.example ")
    assert again.extra == {"existing_id": first.id, "reason": "hard_bounce"} and first.id in again.detail
    assert len(events) == 1


def test_an_unsubscribe_upgrades_a_liftable_entry_which_then_stays(marketer, events):
    first = add(marketer, email="ada@engines.example", reason="manual")
    upgraded = add(marketer, email="ada@engines.example", reason="unsubscribe", source="campaign-7")
    assert (upgraded.id, upgraded.reason, upgraded.source) == (first.id, "unsubscribe", "campaign-7")
    assert events[-1] == (c.RECORD_CHANGED, {"entity": "suppression", "id": first.id, "action": "update",
                                             "changed_fields": ["reason", "source"]})
    refused(suppressions.lift, marketer, first.id)  # the person asked: no longer liftable
    again = refused(add, marketer, email="ada@engines.example", reason="hard_bounce")
    assert again.extra["reason"] == "unsubscribe"


def test_two_writers_racing_past_the_check_still_get_the_409_with_the_id(marketer, monkeypatch):
    first = add(marketer, email="race@engines.example")
    real = suppressions._live
    calls = []

    def not_seen_the_first_time(session, digest):
        calls.append(digest)
        return None if len(calls) == 1 else real(session, digest)

    monkeypatch.setattr(suppressions, "_live", not_seen_the_first_time)
    lost = refused(add, marketer, email="race@engines.example")
    assert lost.extra["existing_id"] == first.id
    assert marketer.session.execute(select(Suppression)).scalars().all() == [first]  # the transaction goes on


@pytest.mark.parametrize("body, field", [
    ({"email": "not-an-address"}, "email"),
    ({"email": "ada@localhost"}, "email"),
    ({"email": "ada@engines.example", "reason": "erased"}, "reason"),
    ({"email": "ada@engines.example", "reason": "bored"}, "reason"),
    ({"email": "ada@engines.example", "note": "x" * 501}, "note"),
    ({"email": "ada@engines.example", "colour": "red"}, "colour"),
    ({}, "email"),
])
def test_bad_input_is_refused_by_the_contract(body, field):
    with pytest.raises(ValidationError) as raised:
        c.SuppressionIn().load(body)
    assert field in raised.value.messages


def test_loading_twice_gives_the_same_address():
    once = c.SuppressionIn().load({"email": " Ada@XN--BCHER-KVA.example"})
    assert once["email"] == "ada@bücher.example" and c.SuppressionIn().load(once)["email"] == once["email"]


def test_the_list_filters_by_reason_address_and_text_and_hides_what_another_scope_added(ctx_as, marketer):
    add(marketer, email="b@engines.example", reason="complaint", source="campaign-7")
    add(marketer, email="a@engines.example", reason="hard_bounce", note="mailbox full_50%")
    other = add(ctx_as("integration", "key-1", {"consent": {"read": "all", "create": "all"}}),
                email="c@mills.example", reason="unsubscribe")
    assert emails(suppressions.page(marketer, query(sort="email"))) == [
        "a@engines.example", "b@engines.example", "c@mills.example"]
    assert emails(suppressions.page(marketer, query(reason="complaint"))) == ["b@engines.example"]
    assert emails(suppressions.page(marketer, query(email=" C@Mills.example"))) == ["c@mills.example"]
    assert emails(suppressions.page(marketer, query(q="campaign-7"))) == ["b@engines.example"]
    assert emails(suppressions.page(marketer, query(q="full_50%"))) == ["a@engines.example"]
    assert emails(suppressions.page(marketer, query(q="_"))) == ["a@engines.example"]  # not a wildcard
    own = ctx_as("custom", "mk-1", {"consent": {"read": "own"}})
    assert sorted(emails(suppressions.page(own, query()))) == ["a@engines.example", "b@engines.example"]
    refused(suppressions.get, own, other.id, code="not_found")
    assert suppressions.get(marketer, other.id) is other


def test_pages_sorted_by_address_hold_erased_entries_once_each(marketer):
    for n in range(5):
        add(marketer, email=f"p{n}@engines.example")
    for n in (1, 3):
        suppressions.erase(marketer, f"p{n}@engines.example")
    for sort in ("email", "-email"):
        seen, cursor = [], None
        while True:
            page = suppressions.page(marketer, query(sort=sort, limit=2, **({"cursor": cursor} if cursor else {})))
            seen += [entry.id for entry in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 5, sort


def test_manual_and_hard_bounce_entries_are_lifted_and_the_address_may_come_back(marketer, events):
    manual = add(marketer, email="fixed@engines.example")
    bounce = add(marketer, email="bounced@engines.example", reason="hard_bounce")
    for entry in (manual, bounce):
        suppressions.lift(marketer, entry.id)
        assert entry.deleted_at is not None and entry.deleted_by == "mk-1" and entry.version == 2
        refused(suppressions.get, marketer, entry.id, code="not_found")
        refused(suppressions.lift, marketer, entry.id, code="not_found")
    assert events.of(c.SUPPRESSION_LIFTED) == [{"id": manual.id, "reason": "manual"},
                                               {"id": bounce.id, "reason": "hard_bounce"}]
    assert suppressions.page(marketer, query())["items"] == []
    assert suppressions.check(marketer, {"email": "fixed@engines.example"})["suppressed"] is False
    again = add(marketer, email="fixed@engines.example", reason="hard_bounce")  # bounced once more
    assert again.id != manual.id
    assert suppressions.check(marketer, {"email": "fixed@engines.example"})["reason"] == "hard_bounce"


@pytest.mark.parametrize("reason", ["complaint", "unsubscribe", "erased"])
def test_what_the_person_asked_for_is_never_lifted(marketer, events, reason):
    entry = add(marketer, email="asked@engines.example", reason="manual" if reason == "erased" else reason)
    if reason == "erased":
        suppressions.erase(marketer, "asked@engines.example")
    before = len(events)
    kept = refused(suppressions.lift, marketer, entry.id)
    assert f"a {reason} entry cannot be lifted" in kept.detail and kept.extra == {"reason": reason}
    assert entry.deleted_at is None and len(events) == before


def test_the_check_answers_for_any_address_whatever_the_scope(ctx_as, marketer):
    add(marketer, email="no@engines.example", reason="complaint")
    sender = ctx_as("custom", "someone-else", {"consent": {"read": "own"}})
    assert suppressions.check(sender, c.CheckQuery().load({"email": "No@Engines.example"})) == {
        "email": "no@engines.example", "suppressed": True, "reason": "complaint"}
    assert suppressions.check(sender, c.CheckQuery().load({"email": "yes@engines.example"})) == {
        "email": "yes@engines.example", "suppressed": False, "reason": None}
