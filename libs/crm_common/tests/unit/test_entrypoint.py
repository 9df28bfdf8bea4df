"""The one entrypoint convention: permission, input, one transaction, the record id, output; the tolerant reader."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from marshmallow import Schema, ValidationError, fields

from crm_common.context import SYSTEM, Actor
from crm_common.contracts.registry import RpcContract
from crm_common.contracts.schemas import Strict
from crm_common.entrypoint import Context, dispatch, entrypoint, handler_table, reads
from crm_common.errors import ServiceError


class NameIn(Strict):
    name = fields.String(required=True)


class NameOut(Schema):
    id = fields.String()
    name = fields.String()


class FakeDb:
    def __init__(self, caller):
        self.caller, self.request_id, self.emitted, self.transactions = caller, "req-1", [], 0

    @contextmanager
    def transaction(self):
        self.transactions += 1
        yield "session"

    def emit(self, type_, data):
        self.emitted.append((type_, data))


class Service:
    def __init__(self, caller):
        self.db = FakeDb(caller)


RENAME = RpcContract("things", "rename_thing", NameIn, NameOut, permission=("lead", "update"), record=True)
seen = []


def rename(ctx: Context, record_id, data, expected_version=None):
    seen.append((ctx.session, ctx.caller.user_id, record_id, data, expected_version))
    ctx.emit("things.renamed.v1", {"id": record_id})
    return {"id": record_id, "name": data["name"], "secret": "never dumped"}


method = entrypoint(RENAME, rename)
EDITOR = Actor(user_id="u1", perms={"lead": {"update": "own"}})


def test_a_call_runs_the_domain_once_with_one_context_and_dumps_its_answer():
    seen.clear()
    service = Service(EDITOR)
    answer = method(service, {"name": "new"}, id="r1", expected_version=4)
    assert answer == {"id": "r1", "name": "new"}
    assert seen == [("session", "u1", "r1", {"name": "new"}, 4)]
    assert service.db.transactions == 1 and service.db.emitted == [("things.renamed.v1", {"id": "r1"})]
    assert method.__name__ == "rename_thing"


def test_a_caller_without_the_declared_permission_is_refused_before_any_work():
    seen.clear()
    service = Service(Actor(user_id="u2", perms={"lead": {"read": "all"}}))
    with pytest.raises(ServiceError) as refused:
        method(service, {"name": "new"}, id="r1")
    assert refused.value.code == "forbidden" and seen == [] and service.db.transactions == 0


def test_bad_input_is_a_validation_error_and_runs_nothing():
    seen.clear()
    service = Service(EDITOR)
    with pytest.raises(ServiceError) as refused:
        method(service, {"name": "new", "other": 1}, id="r1")
    assert refused.value.code == "validation_failed" and "other" in refused.value.errors
    with pytest.raises(ServiceError) as missing:
        method(service, {"name": "new"})
    assert missing.value.code == "not_found"
    assert seen == [] and service.db.transactions == 0


def test_an_option_the_domain_does_not_take_is_refused_not_a_crash():
    seen.clear()
    with pytest.raises(ServiceError) as refused:
        method(Service(EDITOR), {"name": "new"}, id="r1", force=True)
    assert refused.value.code == "validation_failed" and "force" in refused.value.errors and seen == []


class LeadFields(Schema):
    id = fields.String(required=True)
    email = fields.String(load_default=None)


@reads("sales.lead_created.v1", "sales.lead_updated.v1", fields=LeadFields)
def on_lead(ctx, data, envelope):
    seen.append(data)


def test_a_consumer_reads_only_the_fields_it_declares_and_tolerates_new_ones():
    seen.clear()
    table = handler_table(on_lead)
    assert set(table) == {"sales.lead_created.v1", "sales.lead_updated.v1"}
    ctx = Context("session", SYSTEM, lambda *a: None)
    envelope = {"type": "sales.lead_created.v1", "data": {"id": "l1", "score": 90, "new_field": {"x": 1}}}
    assert dispatch(ctx, envelope, table) is True
    assert seen == [{"id": "l1", "email": None}]
    assert dispatch(ctx, {"type": "sales.deal_won.v1", "data": {}}, table) is False
    with pytest.raises(ValidationError):  # a field it needs is missing: retried, then dead-lettered
        dispatch(ctx, {"type": "sales.lead_updated.v1", "data": {"email": "a@b.io"}}, table)


def test_two_handlers_for_one_event_type_is_a_mistake_caught_at_import():
    @reads("sales.lead_created.v1")
    def other(ctx, data, envelope):
        pass
    with pytest.raises(ValueError):
        handler_table(on_lead, other)
