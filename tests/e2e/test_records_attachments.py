"""Files on records through the gateway: a contract's PDF attached to its opportunity, downloaded by a colleague
with scope (Content-Disposition: attachment) and refused (404) to a rep without; an upload that lies about its
type is refused; the file name is sanitised."""
from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_a_contract_pdf_is_attached_to_a_deal_and_downloaded_within_scope(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Files {uuid.uuid4().hex[:6]}"}).json()
    rep = admin.as_new_user(["sales_rep"], team_id=team["id"])
    manager = admin.as_new_user(["sales_manager"], team_id=team["id"])
    stranger = admin.as_new_user(["sales_rep"])
    deal = rep.post("/api/v1/opportunities", json={"name": "Deal", "amount": "10.00", "currency": "EUR"}).json()
    path = f"/api/v1/opportunities/{deal['id']}/attachments"

    made = rep.post(path, files={"file": ("../../etc/Contract \"final\".pdf", PDF, "application/pdf")})
    assert made.status_code == 201, made.text
    attachment = made.json()
    assert (attachment["filename"], attachment["content_type"], attachment["size"]) == (
        "Contract _final_.pdf", "application/pdf", len(PDF))
    assert attachment["created_by"] == rep.user["id"]
    assert [item["id"] for item in manager.get(path).json()["items"]] == [attachment["id"]]

    download = manager.get(f"/api/v1/attachments/{attachment['id']}/content")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["Content-Type"].startswith("application/pdf")
    assert download.headers["Content-Disposition"].startswith('attachment; filename="Contract _final_.pdf"')
    assert stranger.get(f"/api/v1/attachments/{attachment['id']}/content").status_code == 404
    assert stranger.get(path).status_code == 404
    assert stranger.post(path, files={"file": ("x.pdf", PDF)}).status_code == 404
    assert stranger.delete(f"/api/v1/attachments/{attachment['id']}").status_code == 404

    lie = rep.post(path, files={"file": ("invoice.pdf", b"MZ\x90\x00 an executable", "application/pdf")})
    assert lie.status_code == 422 and "file" in lie.json()["errors"]
    exe = rep.post(path, files={"file": ("tool.exe", b"MZ\x90\x00", "application/octet-stream")})
    assert exe.status_code == 422
    assert len(rep.get(path).json()["items"]) == 1  # the refused uploads left nothing

    assert rep.delete(f"/api/v1/attachments/{attachment['id']}").status_code == 204
    assert manager.get(f"/api/v1/attachments/{attachment['id']}/content").status_code == 404
    assert rep.get(path).json()["items"] == []


def test_a_portal_customer_downloads_the_files_of_their_own_tickets_only(admin, suite):
    password = "Portal-Passw0rd-42!"
    agent = admin.as_new_user(["support_manager"])
    customers = []
    for name in ("ada", "bob"):
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        made = admin.post("/api/v1/portal-customers", json={"email": email, "full_name": name, "password": password,
                                                            "contact_id": str(uuid.uuid4())})
        assert made.status_code == 201, made.text
        customers.append(suite.login(email, password))
    ada, bob = customers
    ticket = ada.post("/api/v1/tickets", json={"subject": "Printer", "description": "jammed"}).json()
    path = f"/api/v1/tickets/{ticket['id']}/attachments"
    made = agent.post(path, files={"file": ("manual.pdf", PDF, "application/pdf")})
    assert made.status_code == 201, made.text
    attachment = made.json()
    assert [item["id"] for item in ada.get(path).json()["items"]] == [attachment["id"]]
    download = ada.get(f"/api/v1/attachments/{attachment['id']}/content")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["Content-Disposition"].startswith('attachment; filename="manual.pdf"')
    assert bob.get(path).status_code == 404
    assert bob.get(f"/api/v1/attachments/{attachment['id']}/content").status_code == 404
    assert ada.post(path, files={"file": ("more.pdf", PDF)}).status_code == 403  # customers add no file
    assert ada.delete(f"/api/v1/attachments/{attachment['id']}").status_code == 403
    assert agent.delete(f"/api/v1/attachments/{attachment['id']}").status_code == 204
    assert ada.get(path).json()["items"] == []


def test_a_contracts_word_document_is_kept_on_its_opportunity(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Docs {uuid.uuid4().hex[:6]}"}).json()
    rep = admin.as_new_user(["sales_rep"], team_id=team["id"])
    manager = admin.as_new_user(["sales_manager"], team_id=team["id"])
    stranger = admin.as_new_user(["sales_rep"])
    account = rep.post("/api/v1/accounts", json={"name": f"Globex {uuid.uuid4().hex[:6]}"}).json()
    deal = rep.post("/api/v1/opportunities", json={"name": "Seats", "amount": "900.00", "currency": "EUR",
                                                   "account_id": account["id"]}).json()
    contract = rep.post("/api/v1/contracts", json={"opportunity_id": deal["id"], "account_id": account["id"],
                                                   "value": "900.00", "currency": "EUR", "starts_on": "2026-12-01",
                                                   "ends_on": "2027-11-30"})
    assert contract.status_code == 201, contract.text
    kept = rep.post(f"/api/v1/contracts/{contract.json()['id']}/document/attachments",
                    json={"attach_to": "opportunity"})
    assert kept.status_code == 201, kept.text
    assert kept.headers["Location"].endswith(f"/api/v1/attachments/{kept.json()['id']}/content")
    assert [item["id"] for item in manager.get(f"/api/v1/opportunities/{deal['id']}/attachments").json()["items"]] == [
        kept.json()["id"]]
    download = manager.get(f"/api/v1/attachments/{kept.json()['id']}/content")
    assert download.status_code == 200 and download.content.startswith(b"PK\x03\x04")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert kept.json()["filename"].endswith(".docx")
    assert stranger.get(f"/api/v1/opportunities/{deal['id']}/attachments").status_code == 404
    assert stranger.get(f"/api/v1/attachments/{kept.json()['id']}/content").status_code == 404
    bad = rep.post(f"/api/v1/contracts/{contract.json()['id']}/document/attachments", json={"attach_to": "moon"})
    assert bad.status_code == 422
