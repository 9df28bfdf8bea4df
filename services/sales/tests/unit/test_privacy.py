from __future__ import annotations

import crm_sales_contracts as c
from crm_sales.domain import leads, privacy
from crm_sales.models import Contact, Lead, Opportunity


def test_export_then_erase_keeps_business_totals(session, team, events, ctx):
    lead = leads.create(ctx(team["r1"]), {"first_name": "Ada", "last_name": "Lovelace", "company": "Engines",
                                          "email": "ada@engines.example", "phone": "+442079460958"})
    result = leads.convert(ctx(team["r1"]), lead.id, {"create_opportunity": {
        "name": "Deal", "amount": "500.00", "currency": "EUR"}})
    privacy.handle(ctx(), {"request_id": "pr1", "kind": "export", "email": "ADA@engines.example"})
    part = events.of(c.PRIVACY_PART_COMPLETED)[-1]
    assert part["status"] == "done" and part["counts"] == {"leads": 1, "contacts": 1, "activities": 0}
    assert part["data"]["contacts"][0]["email"] == "ada@engines.example"

    privacy.handle(ctx(), {"request_id": "pr2", "kind": "erasure", "email": "ada@engines.example"})
    part = events.of(c.PRIVACY_PART_COMPLETED)[-1]
    assert part == {"request_id": "pr2", "service": "sales", "status": "done",
                    "counts": {"leads": 1, "contacts": 1, "activities": 0}}
    erased_lead, contact = session.get(Lead, lead.id), session.get(Contact, result["contact"].id)
    assert (erased_lead.email, erased_lead.phone, erased_lead.first_name) == (None, None, None)
    assert (contact.email, contact.first_name, contact.last_name) == (None, None, privacy.ERASED)
    assert str(session.get(Opportunity, result["opportunity"].id).amount) == "500.00"
    assert events.of(c.CONTACT_UPDATED)[-1]["email"] is None


def test_erasure_removes_the_persons_files_and_redacts_comments_naming_them(session, team, events, ctx, tmp_path,
                                                                          monkeypatch):
    import base64

    from crm_sales.domain import record_comments
    monkeypatch.setenv("CRM_ATTACHMENT_DIR", str(tmp_path / "files"))
    lead = leads.create(ctx(team["r1"]), {"last_name": "Lovelace", "company": "Engines",
                                          "email": "ada@engines.example"})
    other = leads.create(ctx(team["r1"]), {"last_name": "Babbage", "company": "Engines",
                                           "email": "charles@engines.example"})
    upload = record_comments.ATTACHMENTS.upload("lead")
    kept = upload(ctx(team["r1"]), other.id, {"filename": "b.txt", "content_base64": base64.b64encode(b"b").decode()})
    filed = upload(ctx(team["r1"]), lead.id, {"filename": "cv.pdf",
                                             "content_base64": base64.b64encode(b"%PDF-1.4 cv").decode()})
    said = record_comments.LEAD.create(ctx(team["r1"]), other.id, {"body": "Ask ADA@engines.example about it"})
    plain = record_comments.LEAD.create(ctx(team["r1"]), other.id, {"body": "nothing personal"})

    privacy.handle(ctx(), {"request_id": "pr1", "kind": "export", "email": "ada@engines.example"})
    part = events.of(c.PRIVACY_PART_COMPLETED)[-1]
    [listed] = part["data"]["attachments"]
    assert (listed["id"], listed["filename"], listed["content_type"], listed["size"]) == (
        filed["id"], "cv.pdf", "application/pdf", 11)
    assert "content_base64" not in listed and part["counts"]["attachments"] == 1

    privacy.handle(ctx(), {"request_id": "pr2", "kind": "erasure", "email": "ada@engines.example"})
    part = events.of(c.PRIVACY_PART_COMPLETED)[-1]
    assert part["counts"] == {"leads": 1, "contacts": 0, "activities": 0, "attachments": 1, "comments": 1}
    assert not (tmp_path / "files" / "sales" / filed["id"]).exists()
    assert (tmp_path / "files" / "sales" / kept["id"]).exists()
    assert record_comments.ATTACHMENTS.listing("lead")(ctx(team["r1"]), lead.id)["items"] == []
    bodies = {x["id"]: x["body"] for x in record_comments.LEAD.list(ctx(team["r1"]), other.id, {})["items"]}
    assert bodies == {said["id"]: "Ask (erased) about it", plain["id"]: "nothing personal"}
    audited = [(e["entity"], e["id"], e["action"]) for e in events.of(c.RECORD_CHANGED)]
    assert ("comment", said["id"], "update") in audited and ("attachment", filed["id"], "delete") in audited
