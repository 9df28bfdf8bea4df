"""The customer's whole picture and timeline, over the caller's scope."""
from __future__ import annotations

import pytest

from crm_analytics_contracts import customers as c
from crm_common.errors import ServiceError

from crm_analytics.domain import customers


@pytest.fixture
def account(feed):
    feed("sales.account_created.v1", {"id": "acc", "name": "Acme", "owner_id": "rep-1", "country": "DE"})
    feed("sales.opportunity_created.v1", {"id": "o1", "account_id": "acc", "owner_id": "rep-1", "amount": "100.00",
                                          "currency": "EUR", "stage": "closed_won", "probability": 100}, 1)
    feed("sales.opportunity_created.v1", {"id": "o2", "account_id": "acc", "owner_id": "rep-2", "amount": "50.00",
                                          "currency": "EUR", "stage": "prospecting", "probability": 10}, 2)
    feed("sales.order_placed.v1", {"id": "ord", "account_id": "acc", "status": "placed", "total": "80.00",
                                   "currency": "EUR"}, 3)
    feed("service_desk.ticket_opened.v1", {"id": "t1", "number": "T-1", "account_id": "acc", "status": "new",
                                           "assignee_id": "ag-1", "requester_email": "x@example.com"}, 4)
    feed("service_desk.survey_answered.v1", {"id": "s1", "ticket_id": "t1", "score": 4, "kind": "csat"}, 5)
    return "acc"


def test_the_whole_picture_of_an_account(ctx_as, account):
    seen = customers.picture(ctx_as("admin", "adm"), account)
    assert seen["account"]["name"] == "Acme"
    assert [d["id"] for d in seen["deals"]] == ["o2", "o1"] and seen["orders"][0]["total"] == "80.00"
    assert (len(seen["tickets"]), seen["surveys"][0]["score"]) == (1, 4)
    assert seen["totals"] == {"deals": 2, "orders": 1, "contracts": 0, "tickets": 1, "surveys": 1, "complaints": 0,
                              "open_deals": 1, "won": {"EUR": "100.00"}, "ordered": {"EUR": "80.00"}, "open_tickets": 1}
    c.Picture().dump(seen)


def test_a_rep_sees_their_part_and_a_stranger_nothing(ctx_as, account):
    mine = customers.picture(ctx_as("sales_rep", "rep-1"), account)
    assert [d["id"] for d in mine["deals"]] == ["o1"] and mine["tickets"] == []
    with pytest.raises(ServiceError) as refused:
        customers.picture(ctx_as("sales_rep", "rep-3"), account)
    assert refused.value.code == "not_found"


def test_the_timeline_newest_first_in_pages(ctx_as, account):
    first = customers.timeline(ctx_as("admin", "adm"), account, {"limit": 3})
    assert [i["type"] for i in first["items"]] == ["service_desk.ticket_opened.v1", "sales.order_placed.v1",
                                                   "sales.opportunity_created.v1"]
    rest = customers.timeline(ctx_as("admin", "adm"), account, {"limit": 3, "before": first["next_cursor"]})
    assert [i["type"] for i in rest["items"]] == ["sales.opportunity_created.v1", "sales.account_created.v1"]
    assert rest["next_cursor"] is None and "requester_email" not in first["items"][0]["summary"]


def test_the_profile_as_word_and_excel(ctx_as, account):
    import base64
    import io

    import docx
    import openpyxl

    from crm_analytics.domain import profile
    word = profile.document(ctx_as("admin", "adm"), account, {"format": "docx"})
    assert word["filename"] == "Acme-profile.docx"
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(base64.b64decode(word["content_base64"]))).paragraphs)
    assert "Customer profile: Acme" in text and "Deals" in text and "Tickets" in text
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(
        profile.document(ctx_as("admin", "adm"), account, {"format": "xlsx"})["content_base64"])))
    assert book.sheetnames == ["Account", "Deals", "Orders", "Tickets", "Surveys"]
    assert book["Deals"]["A1"].value == "id" and book["Orders"]["C2"].value == 80.0
