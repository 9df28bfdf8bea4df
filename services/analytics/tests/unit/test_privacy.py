"""The analytics part of a privacy request: an erasure cuts the person out of the event log (the events naming
their address or its hash, and every event about the same records) and out of their records' rows in the read
models, keeping every figure; a rebuild from the log afterwards gives the same read models and figures; nobody
else's events change; an export answers what is kept; a second request finds nothing."""
from __future__ import annotations

import json
import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

import crm_analytics_contracts as c
from crm_analytics_contracts import reports as rc
from crm_common import jobs
from crm_common.context import SYSTEM, Context
from crm_common.testing.events import Events

from crm_analytics import handlers
from crm_analytics.domain import log, privacy, rebuild, reports, sales_figures, service_figures
from crm_analytics.models import EVENTS, GENERATIONS, Base

EMAIL = "Ada_L@Example.com"


def define(feed, resource, name, type_, choices=()):
    feed("sales.record_changed.v1", {
        "entity": "custom_field", "id": f"def-{resource}-{name}", "action": "create", "changed_fields": [],
        "definition": {"resource": resource, "name": name, "label": name.title(), "type": type_,
                       "choices": list(choices)}})


def people(feed):
    define(feed, "lead", "nickname", "text")
    define(feed, "lead", "budget", "number")
    define(feed, "lead", "tier", "choice", ["gold", "silver"])
    feed("sales.lead_created.v1", {"id": "L1", "email": EMAIL, "first_name": "Ada", "last_name": "Lovelace",
                                   "title": "Countess of computing", "company": "Engines", "source": "web_form",
                                   "status": "new", "owner_id": "rep-1", "tags": ["vip"], "score": 40,
                                   "custom_fields": {"nickname": "Enchantress", "budget": 5000, "tier": "gold"}})
    feed("sales.lead_created.v1", {"id": "L2", "email": "adaxl@example.com", "first_name": "Bob", "source": "event",
                                   "status": "new", "owner_id": "rep-1", "title": "Builder",
                                   "custom_fields": {"nickname": "Bobby", "budget": 10, "tier": "silver"}}, 0.5)
    feed("sales.lead_assigned.v1", {"id": "L1", "owner_id": "rep-2"}, 1)
    feed("sales.leads_imported.v1", {"job_id": "j1", "ids": ["L3", "L4"], "leads": [
        {"id": "L3", "email": "ada_l@example.com", "title": "Again", "source": "import", "status": "new",
         "custom_fields": {"nickname": "Ada again", "budget": 7}},
        {"id": "L4", "email": "carol@example.com", "title": "Chemist", "source": "import", "status": "new",
         "custom_fields": {"nickname": "Caro", "budget": 8}}]}, 1.5)
    feed("sales.lead_converted.v1", {"id": "L1", "opportunity_id": "O1", "account_id": "A1"}, 2)
    feed("sales.opportunity_created.v1", {"id": "O1", "name": "Engines deal", "owner_id": "rep-2", "amount": "900.00",
                                          "currency": "EUR", "stage": "prospecting", "probability": 10}, 2)
    define(feed, "opportunity", "referrer", "text")
    define(feed, "opportunity", "seats", "number")
    feed("sales.opportunity_created.v1", {"id": "O2", "name": "Deal referred by ADA_L@example.com", "owner_id": "rep-1",
                                          "amount": "50.00", "currency": "EUR", "stage": "prospecting",
                                          "probability": 10, "custom_fields": {"referrer": "Ada_L@example.com, web",
                                                                               "seats": 5}}, 2.5)
    feed("sales.activity_logged.v1", {"id": "AC1", "type": "call", "lead_id": "L2", "owner_id": "rep-1",
                                      "subject": "Call Bob about ada_l@example.com"}, 2.5)
    feed("service_desk.ticket_created.v1", {"id": "T1", "number": "T-1", "requester_email": EMAIL.upper(),
                                            "subject": "Ada cannot log in", "channel": "email", "status": "new",
                                            "priority": "high"}, 3)
    feed("service_desk.ticket_updated.v1", {"id": "T1", "status": "solved", "solved_at": "2026-11-06T09:00:00Z",
                                            "changed_fields": ["status"]}, 4)


def request(session, kind, email=EMAIL, request_id="P1"):
    """The request as the stream hands it: logged first (it names the address too), then handled."""
    emitted = Events()
    ctx = Context(session, SYSTEM, emitted, "r")
    data = {"request_id": request_id, "kind": kind, "email": email}
    envelope = {"event_id": f"ev-{request_id}", "type": "identity.privacy_requested.v1", "producer": "identity",
                "occurred_at": "2026-11-09T09:00:00Z", "actor": None, "data": data}
    log.keep(ctx, envelope)
    handlers.privacy_requested(ctx, data, envelope)
    (part,) = emitted.of("analytics.privacy_part_completed.v1")
    return part


def figures(ctx_as):
    admin = ctx_as("admin", "adm")
    report = reports.create_report(admin, rc.ReportIn().load({
        "name": "Leads", "source": "leads", "columns": ["id", "status", "source", "owner_id", "custom.budget",
                                                        "custom.tier", "custom.nickname"]}))
    rows = reports.run_report(admin, report.id, rc.RunQuery().load({}))["rows"]
    answers = {"pipeline": sales_figures.pipeline(admin, c.FigureQuery().load({})),
               "funnel": sales_figures.funnel(admin, c.FigureQuery().load({})),
               "service": service_figures.service(admin, c.FigureQuery().load({}))}
    return {**{name: {k: v for k, v in answer.items() if k != "as_of"} for name, answer in answers.items()},
            "leads": sorted(rows, key=lambda row: row["id"])}


def read_models(session, gen):
    t = GENERATIONS[gen]
    out = {}
    for name in ("leads", "opportunities", "tickets", "accounts", "activities", "custom_fields"):
        table = getattr(t, name)
        out[name] = sorted((dict(row._mapping) for row in session.execute(select(table))), key=lambda r: r["id"])
    return out


def stored_text(session):
    envelopes = [row.envelope for row in session.execute(select(EVENTS.c.envelope))]
    models = {gen: read_models(session, gen) for gen in GENERATIONS}
    return json.dumps([envelopes, models], default=str).lower()


def test_an_erasure_cuts_the_person_out_and_keeps_every_figure_through_a_rebuild(engine, session, feed, ctx_as):
    people(feed)
    before = figures(ctx_as)
    assert before["service"]["totals"]["opened"] == 1 and before["pipeline"]["totals"]["count"] == 2
    hashed = privacy.email_hash(EMAIL)
    assert hashed in stored_text(session) and "enchantress" in stored_text(session)
    part = request(session, "erasure")
    assert (part["service"], part["status"], part["data"]) == ("analytics", "done", None)
    # L1 x3, the import, O2 and the activity naming them, T1 x2; the rows of L1, L3 and O2
    assert part["counts"] == {"events": 8, "read_model_rows": 3}
    text = stored_text(session)
    for gone in (hashed, "ada_l@", "enchantress", "countess", "cannot log in", "ada again", '"vip"'):
        assert gone not in text, gone
    for kept in ("bobby", "builder", "caro", "chemist", privacy.email_hash("adaxl@example.com")):
        assert kept in text, kept  # the others' events and rows are untouched
    after = figures(ctx_as)
    leads = {row["id"]: row for row in after["leads"]}
    assert leads["L1"]["custom.budget"] == 5000 and leads["L1"]["custom.tier"] == "gold"
    assert leads["L1"]["custom.nickname"] is None and leads["L2"]["custom.nickname"] == "Bobby"
    assert (leads["L3"]["custom.budget"], leads["L3"]["custom.nickname"]) == (7, None)
    assert leads["L4"]["custom.nickname"] == "Caro" and leads["L1"]["owner_id"] == "rep-2"
    assert {k: v for k, v in after.items() if k != "leads"} == {k: v for k, v in before.items() if k != "leads"}
    erased_models = read_models(session, "a")
    (deal,) = [row for row in erased_models["opportunities"] if row["id"] == "O2"]  # another's deal naming them
    assert (deal["name"], deal["custom_fields"]) == ("Deal referred by [erased]", {"referrer": "[erased], web",
                                                                                   "seats": 5})
    session.commit()
    job = rebuild.start(ctx_as("admin", "adm"))
    session.commit()
    assert jobs.run(engine, Base.metadata, job["id"], rebuild.run)["status"] == "done"
    session.begin()
    assert log.status(ctx_as("admin", "adm"))["generation"] == "b"
    assert read_models(session, "b") == erased_models  # the log gives what the erasure left, no more, no less
    assert figures(ctx_as) == after


def test_an_export_answers_what_is_kept_and_a_second_request_finds_nothing(session, feed):
    people(feed)
    part = request(session, "export", email="ADA_L@example.com")
    assert part["counts"] == {"events": 8, "records": 3}
    items = part["data"]["events"]
    assert [(e["type"], e["entity_id"]) for e in items] == [
        ("sales.lead_created.v1", "L1"), ("sales.lead_assigned.v1", "L1"), ("sales.leads_imported.v1", None),
        ("sales.lead_converted.v1", "L1"), ("sales.opportunity_created.v1", "O2"),
        ("sales.activity_logged.v1", "AC1"), ("service_desk.ticket_created.v1", "T1"),
        ("service_desk.ticket_updated.v1", "T1")]
    assert items[0]["data"]["custom_fields"]["nickname"] == "Enchantress"  # what the log keeps of them
    assert request(session, "erasure", request_id="P2")["counts"] == {"events": 8, "read_model_rows": 3}
    assert request(session, "erasure", request_id="P3")["counts"] == {"events": 0, "read_model_rows": 0}
    again = request(session, "export", request_id="P4")
    assert again["counts"] == {"events": 0, "records": 0} and again["data"] == {"events": []}


def test_an_erasure_while_a_rebuild_replays_the_log_cuts_the_generation_it_fills_too(engine, session, feed):
    """A rebuild's batch read the person's events from the log just before an erasure: the rows it wrote into the
    generation it fills are cut too (the erasure waits for the batch, then cuts both generations), so switching to
    it brings nothing of the person back."""
    people(feed)
    session.commit()
    failures = []

    def erase():
        try:
            with Session(engine, expire_on_commit=False) as other, other.begin():
                request(other, "erasure")
        except Exception as error:  # noqa: BLE001 - the test reports what failed
            failures.append(error)
    eraser = threading.Thread(target=erase)
    with engine.begin() as conn:  # a rebuild's batch, left open while the erasure runs into it
        assert rebuild._replay(conn, GENERATIONS["b"], 0, None)[0] > 0
        eraser.start()
        time.sleep(0.5)
    eraser.join(30)
    assert not eraser.is_alive() and failures == []
    with Session(engine) as after:
        rebuilt, active = read_models(after, "b"), read_models(after, "a")
    text = json.dumps(rebuilt, default=str).lower()
    for gone in ("enchantress", "ada again", "ada_l@"):
        assert gone not in text, gone
    assert rebuilt == active  # the generation a rebuild fills is cut as the active one is


def test_the_log_keeps_no_copy_of_what_an_export_carries(session, feed):
    """Every service answers an export with the person's data in its `privacy_part_completed` event, and analytics
    logs every event: the log keeps such an event without that data (`privacy.without_export`), so an export leaves
    no copy of the person's data here and a later export does not list earlier answers as events about them."""
    people(feed)
    feed("sales.privacy_part_completed.v1", {
        "request_id": "P0", "service": "sales", "status": "done", "counts": {"leads": 1},
        "data": {"leads": [{"id": "L1", "email": EMAIL, "title": "Countess of computing", "company": "Engines"}]}}, 5)
    part = request(session, "export", email="ADA_L@example.com")
    logged = {row.type: row.envelope["data"] for row in session.execute(select(EVENTS))}
    assert logged["sales.privacy_part_completed.v1"] == {"request_id": "P0", "service": "sales", "status": "done",
                                                         "counts": {"leads": 1}, "data": None}
    assert "ada_l@example.com" not in json.dumps(logged["identity.privacy_requested.v1"]).lower()  # its hash only
    assert "privacy" not in json.dumps([e["type"] for e in part["data"]["events"]])
    assert part["counts"] == {"events": 8, "records": 3}  # the lead's, deal's, call's and ticket's events alone
