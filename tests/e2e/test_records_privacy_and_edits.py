"""Files and comments in privacy requests, and comment edits, through the gateway: a contact's attachment is
listed in the person's export and gone after their erasure (download 404), a comment naming them is redacted;
a comment's author edits it (new body, edited_at), the rep's manager's edit or delete is refused (403) and changes
nothing, an administrator may delete it."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _part(admin, request_id):
    response = admin.get(f"/api/v1/privacy/requests/{request_id}")
    if response.status_code != 200:  # e.g. rate limited while polling: ask again
        return None
    sales = (response.json().get("parts") or {}).get("sales") or {}
    return sales if sales.get("status") in ("done", "failed") else None


def test_erasure_removes_a_contacts_file_and_redacts_comments_naming_them(admin):
    email = f"subject-{uuid.uuid4().hex[:8]}@privacy.example"
    team = admin.post("/api/v1/teams", json={"name": f"Erase {uuid.uuid4().hex[:6]}"}).json()
    rep = admin.as_new_user(["sales_rep"], team_id=team["id"])
    contact = rep.post("/api/v1/contacts", json={"first_name": "Pat", "last_name": "Doe", "email": email})
    assert contact.status_code == 201, contact.text
    contact = contact.json()
    files = f"/api/v1/contacts/{contact['id']}/attachments"
    attachment = rep.post(files, files={"file": ("passport.pdf", PDF, "application/pdf")})
    assert attachment.status_code == 201, attachment.text
    attachment = attachment.json()
    content = f"/api/v1/attachments/{attachment['id']}/content"
    assert rep.get(content).content == PDF
    deal = rep.post("/api/v1/opportunities", json={"name": "Deal", "amount": "10.00", "currency": "EUR"}).json()
    notes = f"/api/v1/opportunities/{deal['id']}/comments"
    said = eventually(lambda: rep.post(notes, json={"body": f"Pat ({email}) signs on Monday"}),
                      until=lambda r: r.status_code != 422, timeout=30)
    assert said.status_code == 201, said.text

    exported = admin.post("/api/v1/privacy/export-requests", json={"email": email})
    assert exported.status_code == 202, exported.text
    part = eventually(lambda: _part(admin, exported.json()["id"]), 30)
    assert part and part["status"] == "done"
    [listed] = part["data"]["attachments"]
    assert (listed["id"], listed["filename"], listed["size"]) == (attachment["id"], "passport.pdf", len(PDF))

    erased = admin.post("/api/v1/privacy/erasure-requests", json={"email": email})
    assert erased.status_code == 202, erased.text
    part = eventually(lambda: _part(admin, erased.json()["id"]), 30)
    assert part and part["status"] == "done"
    assert (part["counts"]["contacts"], part["counts"]["attachments"], part["counts"]["comments"]) == (1, 1, 1)
    assert rep.get(content).status_code == 404
    assert admin.get(content).status_code == 404
    assert rep.get(files).json()["items"] == []
    [comment] = rep.get(notes).json()["items"]
    assert email not in comment["body"] and "(erased)" in comment["body"]


def test_only_the_author_or_an_admin_changes_a_comment(admin):
    team = admin.post("/api/v1/teams", json={"name": f"Edits {uuid.uuid4().hex[:6]}"}).json()
    rep = admin.as_new_user(["sales_rep"], team_id=team["id"])
    colleague = admin.as_new_user(["sales_manager"], team_id=team["id"])  # sees the rep's deal, didn't write
    stranger = admin.as_new_user(["sales_rep"])
    deal = rep.post("/api/v1/opportunities", json={"name": "Deal", "amount": "10.00", "currency": "EUR"}).json()
    path = f"/api/v1/opportunities/{deal['id']}/comments"
    made = eventually(lambda: rep.post(path, json={"body": "first draft"}),
                      until=lambda r: r.status_code != 422, timeout=30)
    assert made.status_code == 201, made.text
    comment = made.json()
    assert comment["edited_at"] is None
    one = f"{path}/{comment['id']}"

    edited = rep.patch(one, json={"body": "<p>final words</p><script>x()</script>"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["body"] == "<p>final words</p>" and edited.json()["edited_at"]
    [shown] = colleague.get(path).json()["items"]
    assert (shown["body"], shown["edited_at"]) == ("<p>final words</p>", edited.json()["edited_at"])

    assert colleague.patch(one, json={"body": "mine now"}).status_code == 403
    assert colleague.delete(one).status_code == 403
    assert stranger.patch(one, json={"body": "mine now"}).status_code == 404
    assert stranger.delete(one).status_code == 404
    blank = rep.patch(one, json={"body": ""})
    assert blank.status_code == 422 and "body" in blank.json()["errors"]
    [shown] = rep.get(path).json()["items"]
    assert (shown["body"], shown["edited_at"]) == ("<p>final words</p>", edited.json()["edited_at"])  # nothing changed

    assert admin.delete(one).status_code == 204
    assert rep.get(path).json()["items"] == []
    assert rep.patch(one, json={"body": "again"}).status_code == 404
