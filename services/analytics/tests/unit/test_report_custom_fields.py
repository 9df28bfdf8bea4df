"""Custom fields in saved reports: the definitions the producers announce and the values their records' events
carry are kept (a JSON column, no migration per field); a report selects, filters, groups, sorts and exports
them, over the viewer's scope; an unknown field or a value the field cannot hold is a 422 naming it."""
from __future__ import annotations

import openpyxl
import pytest

from crm_analytics_contracts import reports as c
from crm_common import exports, jobs
from crm_common.errors import ServiceError

from crm_analytics.domain import rebuild, reports
from crm_analytics.models import Base


def define(feed, producer, resource, name, type_, choices=(), action="create", id_=None):
    feed(f"{producer}.record_changed.v1", {
        "entity": "custom_field", "id": id_ or f"def-{resource}-{name}", "action": action, "changed_fields": [],
        "definition": {"resource": resource, "name": name, "label": name.title(), "type": type_,
                       "choices": list(choices)}})


@pytest.fixture
def deals(feed):
    define(feed, "sales", "opportunity", "channel", "choice", ["direct", "partner", "online"])
    define(feed, "sales", "opportunity", "seats", "number")
    define(feed, "sales", "opportunity", "discount", "decimal")
    define(feed, "sales", "opportunity", "regions", "multi_choice", ["emea", "apac", "amer"])
    define(feed, "sales", "opportunity", "signed", "date")
    define(feed, "sales", "lead", "channel", "text")  # the same name on another resource is another field
    for i, (owner, channel, seats, discount, regions) in enumerate((
            ("rep-1", "partner", 40, "2.50", ["emea", "apac"]), ("rep-1", "direct", 5, "1.25", ["emea"]),
            ("rep-2", "partner", 12, "0.75", ["amer"]), ("rep-1", None, None, None, None))):
        custom = {k: v for k, v in (("channel", channel), ("seats", seats), ("discount", discount),
                                    ("regions", regions), ("signed", "2026-11-0%d" % (i + 1))) if v is not None}
        feed("sales.opportunity_created.v1", {"id": f"o{i}", "name": f"Deal {i}", "owner_id": owner, "team_id": "t-1",
                                              "amount": "100.00", "currency": "EUR", "stage": "prospecting",
                                              "probability": 10, "custom_fields": custom}, i)


def make(ctx, **body):
    return reports.create_report(ctx, c.ReportIn().load({"name": "Deals", "source": "opportunities",
                                                         "columns": ["name", "custom.channel", "custom.seats"],
                                                         **body}))


def run(ctx, report, **args):
    return reports.run_report(ctx, report.id, c.RunQuery().load(args))


def test_a_report_selects_filters_and_sorts_by_custom_fields_typed(ctx_as, deals, feed):
    admin = ctx_as("admin", "adm")
    report = make(admin, columns=["name", "custom.channel", "custom.seats", "custom.discount", "custom.regions",
                                  "custom.signed"], filters={"custom.channel": "partner"}, sort="-custom.seats",
                  shared_team_id="t-1")
    ran = run(admin, report)
    assert ran["rows"] == [
        {"name": "Deal 0", "custom.channel": "partner", "custom.seats": 40, "custom.discount": "2.5",
         "custom.regions": "emea; apac", "custom.signed": "2026-11-01"},
        {"name": "Deal 2", "custom.channel": "partner", "custom.seats": 12, "custom.discount": "0.75",
         "custom.regions": "amer", "custom.signed": "2026-11-03"}]
    assert [col["type"] for col in ran["columns"]] == ["text", "text", "integer", "number", "text", "date"]
    rep = ctx_as("sales_rep", "rep-1", team_id="t-1")
    assert [row["name"] for row in run(rep, report)["rows"]] == ["Deal 0"]  # the viewer's scope
    by_region = make(admin, filters={"custom.regions": "emea"}, sort="custom.seats")
    assert [row["name"] for row in run(admin, by_region)["rows"]] == ["Deal 1", "Deal 0"]
    by_number = make(admin, filters={"custom.seats": "5", "custom.discount": "1.25"})
    assert [row["name"] for row in run(admin, by_number)["rows"]] == ["Deal 1"]
    empty = make(admin, filters={"custom.channel": None})
    assert [row["name"] for row in run(admin, empty)["rows"]] == ["Deal 3"]
    feed("sales.opportunity_updated.v1", {"id": "o1", "custom_fields": {"channel": "partner", "seats": 7},
                                          "changed_fields": ["custom_fields"]}, 5)  # a change is seen
    assert [row["custom.seats"] for row in run(admin, report)["rows"]] == [40, 12, 7]


def test_a_report_groups_by_a_custom_field_and_sums_its_numbers(ctx_as, deals):
    admin = ctx_as("admin", "adm")
    grouped = make(admin, columns=["custom.channel", "custom.seats", "custom.discount", "amount"],
                   group_by="custom.channel", sort="-custom.seats")
    ran = run(admin, grouped)
    assert ran["rows"] == [{"key": "partner", "count": 2, "custom.seats": 52, "custom.discount": "3.25",
                            "amount": "200.00"},
                           {"key": "direct", "count": 1, "custom.seats": 5, "custom.discount": "1.25",
                            "amount": "100.00"},
                           {"key": None, "count": 1, "custom.seats": None, "custom.discount": None,
                            "amount": "100.00"}]
    assert [col["type"] for col in ran["columns"]] == ["text", "integer", "integer", "number", "money"]


def test_unknown_custom_fields_and_bad_values_are_422s_naming_them(ctx_as, deals):
    admin = ctx_as("admin", "adm")
    for body, field, named in (
            ({"columns": ["name", "custom.colour"]}, "columns", "custom.colour"),
            ({"filters": {"custom.colour": "red"}}, "filters", "custom.colour"),
            ({"filters": {"custom.channel": "pigeon"}}, "filters", "custom.channel"),
            ({"filters": {"custom.seats": "many"}}, "filters", "custom.seats"),
            ({"group_by": "custom.colour"}, "group_by", "custom.colour"),
            ({"group_by": "custom.regions"}, "group_by", "custom.regions"),
            ({"sort": "-custom.colour"}, "sort", "custom.colour"),
            ({"columns": ["custom.channel"], "source": "leads", "filters": {"custom.seats": "1"}}, "filters",
             "custom.seats")):
        with pytest.raises(ServiceError) as refused:
            make(admin, **body)
        assert refused.value.code == "validation_failed" and field in refused.value.errors, body
        assert any(named in message for message in refused.value.errors[field]), refused.value.errors


def test_a_deleted_field_cannot_be_chosen_but_a_saved_report_over_it_still_runs(ctx_as, deals, feed):
    admin = ctx_as("admin", "adm")
    saved = make(admin, sort="name")
    feed("sales.record_changed.v1", {"entity": "custom_field", "id": "def-opportunity-seats", "action": "delete",
                                     "changed_fields": [],
                                     "definition": {"resource": "opportunity", "name": "seats", "label": "Seats",
                                                    "type": "number", "choices": []}}, 9)
    with pytest.raises(ServiceError) as refused:
        make(admin)
    assert "custom.seats" in refused.value.errors["columns"][0]
    assert [row["custom.seats"] for row in run(admin, saved)["rows"]] == [40, 5, 12, None]


def test_tickets_carry_their_custom_fields_into_reports(ctx_as, feed):
    define(feed, "service_desk", "ticket", "product", "choice", ["app", "web"])
    define(feed, "service_desk", "ticket", "urgent", "boolean")
    for i, (product, urgent) in enumerate((("app", True), ("web", False), ("app", False))):
        feed("service_desk.ticket_opened.v1", {"id": f"t{i}", "number": f"T-{i}", "status": "new", "channel": "email",
                                               "priority": "normal", "assignee_id": "agent-1",
                                               "custom_fields": {"product": product, "urgent": urgent}}, i)
    admin = ctx_as("admin", "adm")
    grouped = reports.create_report(admin, c.ReportIn().load({
        "name": "By product", "source": "tickets", "columns": ["custom.product"], "group_by": "custom.product",
        "filters": {"custom.urgent": "false"}}))
    assert run(admin, grouped)["rows"] == [{"key": "app", "count": 1}, {"key": "web", "count": 1}]
    listed = reports.create_report(admin, c.ReportIn().load({
        "name": "Urgent", "source": "tickets", "columns": ["number", "custom.urgent"], "sort": "number"}))
    ran = run(admin, listed)
    assert [row["custom.urgent"] for row in ran["rows"]] == [True, False, False]
    assert ran["columns"][1] == {"name": "custom.urgent", "type": "boolean"}


def test_custom_columns_export_as_typed_cells(ctx_as, deals, session, tmp_path):
    admin = ctx_as("admin", "adm")
    report = make(admin, columns=["name", "custom.channel", "custom.seats", "custom.signed"], sort="name")
    columns = [(col["name"], col["type"]) for col in reports.columns_of(session, report)]
    path = tmp_path / "r.xlsx"
    assert exports.write_xlsx(str(path), columns, [run(admin, report)["rows"]]) == 4
    sheet = openpyxl.load_workbook(path).active
    assert [cell.value for cell in sheet[1]] == ["name", "custom.channel", "custom.seats", "custom.signed"]
    assert sheet["B2"].value == "partner" and sheet["C2"].value == 40 and sheet["D2"].is_date
    text = "".join(exports.csv_chunks(columns, [run(admin, report)["rows"]]))
    assert text.splitlines()[1] == "Deal 0,partner,40,2026-11-01"


def test_a_rebuild_keeps_the_definitions_and_the_values(engine, session, ctx_as, deals):
    admin = ctx_as("admin", "adm")
    report = make(admin, filters={"custom.channel": "partner"}, sort="name")
    session.commit()
    session.begin()
    job = rebuild.start(admin)
    session.commit()
    assert jobs.run(engine, Base.metadata, job["id"], rebuild.run)["status"] == "done"
    session.begin()
    assert [row["name"] for row in run(admin, report)["rows"]] == ["Deal 0", "Deal 2"]
    make(admin, columns=["custom.regions"])  # the definitions were replayed too
