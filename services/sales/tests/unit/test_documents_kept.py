"""Generated documents kept as files: a quote's and a contract's Word document attached to the record itself or to
its opportunity, downloaded by a colleague within scope and not found by a rep without; keeping one needs the
right to change where it goes; a record without an opportunity is a 422."""
from __future__ import annotations

import base64
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from crm_common.errors import ServiceError
from crm_sales.domain import accounts, documents, opportunities, quotes, record_comments, sales_contracts

FILES = record_comments.ATTACHMENTS


@pytest.fixture(autouse=True)
def local_store(tmp_path, monkeypatch):
    monkeypatch.delenv("CRM_ATTACHMENT_STORE", raising=False)
    monkeypatch.setenv("CRM_ATTACHMENT_DIR", str(tmp_path / "files"))


def fails(call, code: str):
    with pytest.raises(ServiceError) as raised:
        call()
    assert raised.value.code == code, raised.value


def _docx_text(content_base64: str) -> str:
    from docx import Document
    return "\n".join(p.text for p in Document(io.BytesIO(base64.b64decode(content_base64))).paragraphs)


def test_a_contracts_document_is_kept_on_its_opportunity_and_read_within_scope(ctx, team, events):
    r1, m1, r3 = team["r1"], team["m1"], team["r3"]
    account = accounts.create(ctx(r1), {"name": "Globex"})
    deal = opportunities.create(ctx(r1), {"name": "Globex seats", "amount": Decimal("900.00"), "currency": "EUR",
                                          "account_id": account.id})
    contract = sales_contracts.create(ctx(r1), {"account_id": account.id, "opportunity_id": deal.id,
                                                "value": Decimal("900.00"), "currency": "EUR",
                                                "starts_on": date.today(),
                                                "ends_on": date.today() + timedelta(days=365)})
    kept = documents.keep_contract_document(ctx(r1), contract.id, {"attach_to": "opportunity"})
    assert (kept["resource"], kept["record_id"], kept["content_type"]) == (
        "opportunity", deal.id, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert kept["filename"] == f"contract-{contract.id}.docx"
    assert [f["id"] for f in FILES.listing("opportunity")(ctx(m1), deal.id)["items"]] == [kept["id"]]
    assert "Customer: Globex" in _docx_text(FILES.content(ctx(m1), kept["id"])["content_base64"])
    fails(lambda: FILES.content(ctx(r3), kept["id"]), "not_found")  # another team's rep
    fails(lambda: documents.keep_contract_document(ctx(r3), contract.id, {}), "not_found")

    on_itself = documents.keep_contract_document(ctx(r1), contract.id, {"attach_to": "record"})
    assert (on_itself["resource"], on_itself["record_id"]) == ("contract", contract.id)
    assert [f["id"] for f in FILES.listing("contract")(ctx(m1), contract.id)["items"]] == [on_itself["id"]]
    audit = [(e["entity"], e["action"]) for e in events.of("sales.record_changed.v1") if e["entity"] == "attachment"]
    assert audit == [("attachment", "create"), ("attachment", "create")]


def test_a_quotes_document_is_kept_and_one_without_an_opportunity_is_refused(ctx, team):
    r1 = team["r1"]
    quote = quotes.create(ctx(r1), {"currency": "EUR", "tax_percent": Decimal("20"), "lines": [
        {"description": "Setup", "quantity": Decimal("2"), "unit_price": Decimal("50.00"), "discount_percent": 0}]})
    text = _docx_text(documents.quote_document(ctx(r1), quote.id)["content_base64"])
    assert "total 120.00 EUR" in text
    fails(lambda: documents.keep_quote_document(ctx(r1), quote.id, {"attach_to": "opportunity"}), "validation_failed")
    assert FILES.listing("quote")(ctx(r1), quote.id)["items"] == []
    kept = documents.keep_quote_document(ctx(r1), quote.id, {})
    assert (kept["resource"], kept["record_id"], kept["filename"]) == ("quote", quote.id, f"quote-{quote.id}.docx")
