"""Files on tickets (crm_common.records.attachments): agents attach within their ticket scope, a portal customer
lists and downloads the files of their own tickets only (another's ticket or file is not found) and uploads none;
an upload that lies about its type is refused and leaves nothing; every upload and delete is in the audit trail."""
from __future__ import annotations

import base64

import pytest

from crm_common.errors import ServiceError
from crm_service_desk.domain import custom, tickets

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
FILES = custom.ATTACHMENTS


@pytest.fixture(autouse=True)
def local_store(tmp_path, monkeypatch):
    monkeypatch.delenv("CRM_ATTACHMENT_STORE", raising=False)
    monkeypatch.setenv("CRM_ATTACHMENT_DIR", str(tmp_path / "files"))
    return tmp_path / "files"


def _file(name: str, data: bytes) -> dict:
    return {"filename": name, "content_base64": base64.b64encode(data).decode()}


def fails(call, code: str) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        call()
    assert raised.value.code == code, raised.value
    return raised.value


def test_a_customer_sees_the_files_of_their_own_tickets_only(desk, local_store):
    ada, bob = desk.actor("customer", email="ada@example.com"), desk.actor("customer", email="bob@example.com")
    mine = desk.run(ada, tickets.create_ticket, {"subject": "Printer", "description": "jammed"})
    theirs = desk.run(bob, tickets.create_ticket, {"subject": "Scanner", "description": "dead"})
    made = desk.run(desk.manager, FILES.upload("ticket"), mine.id, _file("../Invoice 12.pdf", PDF))
    other = desk.run(desk.manager, FILES.upload("ticket"), theirs.id, _file("scan.pdf", PDF))
    assert (made["filename"], made["content_type"], made["size"]) == ("Invoice 12.pdf", "application/pdf", len(PDF))
    assert (local_store / "service_desk" / made["id"]).read_bytes() == PDF

    assert [f["id"] for f in desk.run(ada, FILES.listing("ticket"), mine.id)["items"]] == [made["id"]]
    got = desk.run(ada, FILES.content, made["id"])
    assert base64.b64decode(got["content_base64"]) == PDF
    fails(lambda: desk.run(ada, FILES.listing("ticket"), theirs.id), "not_found")
    fails(lambda: desk.run(ada, FILES.content, other["id"]), "not_found")
    # a customer adds no file (ticket.update) and removes none
    fails(lambda: desk.run(ada, FILES.upload("ticket"), mine.id, _file("more.pdf", PDF)), "forbidden")
    fails(lambda: desk.run(ada, FILES.delete, made["id"]), "not_found")
    assert len(desk.run(desk.manager, FILES.listing("ticket"), mine.id)["items"]) == 1


def test_an_agent_attaches_within_their_scope_and_a_lie_is_refused(desk):
    agent, stranger = desk.agent(), desk.agent()
    ticket = desk.run(agent, tickets.create_ticket, {"subject": "VPN", "description": "down",
                                                    "requester_email": "carl@example.com"})
    fails(lambda: desk.run(agent, FILES.upload("ticket"), ticket.id, _file("log.pdf", b"MZ\x90\x00 not a pdf")),
          "validation_failed")
    assert desk.run(agent, FILES.listing("ticket"), ticket.id)["items"] == []
    made = desk.run(agent, FILES.upload("ticket"), ticket.id, _file("log.txt", b"line one\nline two\n"))
    fails(lambda: desk.run(stranger, FILES.content, made["id"]), "not_found")
    desk.run(agent, FILES.delete, made["id"])
    fails(lambda: desk.run(agent, FILES.content, made["id"]), "not_found")
    audit = [(e["data"]["entity"], e["data"]["action"]) for e in desk.events("record_changed")]
    assert audit == [("attachment", "create"), ("attachment", "delete")]


# -- an S3-compatible store (moto's server, a real HTTP S3 endpoint in its own process) -------------------------

@pytest.fixture(scope="module")
def s3():
    pytest.importorskip("boto3")
    from crm_common.testing.s3 import s3_server
    with s3_server() as (endpoint, env):
        yield endpoint, env


def test_files_kept_in_an_s3_store_when_configured(desk, s3, monkeypatch, local_store):
    from crm_common.testing.s3 import client
    endpoint, env = s3
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ada = desk.actor("customer", email="ada@example.com")
    ticket = desk.run(ada, tickets.create_ticket, {"subject": "Router", "description": "blinking"})
    made = desk.run(desk.manager, FILES.upload("ticket"), ticket.id, _file("photo.png", PNG))
    stored = client(endpoint).get_object(Bucket="crm-files", Key=f"attachments/service_desk/{made['id']}")
    assert stored["Body"].read() == PNG
    assert not (local_store / "service_desk" / made["id"]).exists()  # not on the local disk
    assert base64.b64decode(desk.run(ada, FILES.content, made["id"])["content_base64"]) == PNG
    desk.run(desk.manager, FILES.delete, made["id"])  # a soft delete: the audit trail keeps it
    fails(lambda: desk.run(ada, FILES.content, made["id"]), "not_found")


def test_a_store_that_does_not_answer_refuses_the_upload_and_keeps_nothing(desk, monkeypatch):
    from crm_common.ports import free_port
    from crm_common.testing.s3 import ACCESS_KEY, SECRET_KEY
    monkeypatch.setenv("CRM_ATTACHMENT_STORE", "s3://crm-files")
    monkeypatch.setenv("CRM_S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    ticket = desk.run(desk.manager, tickets.create_ticket, {"subject": "Disk", "description": "full",
                                                            "requester_email": "dan@example.com"})
    refused = fails(lambda: desk.run(desk.manager, FILES.upload("ticket"), ticket.id, _file("a.pdf", PDF)),
                    "unavailable")
    assert SECRET_KEY not in str(refused) and SECRET_KEY not in repr(refused.errors)
    assert desk.run(desk.manager, FILES.listing("ticket"), ticket.id)["items"] == []
    assert desk.events("record_changed") == []


def test_the_files_of_a_persons_tickets_are_in_their_export_and_go_with_erasure(desk, local_store):
    from crm_common.entrypoint import dispatch
    from crm_service_desk import handlers
    ada = desk.actor("customer", email="ada@example.com")
    mine = desk.run(ada, tickets.create_ticket, {"subject": "Printer", "description": "jammed"})
    other = desk.run(desk.manager, tickets.create_ticket, {"subject": "Fax", "description": "gone",
                                                           "requester_email": "bob@example.com"})
    made = desk.run(desk.manager, FILES.upload("ticket"), mine.id, _file("photo.png", PNG))
    kept = desk.run(desk.manager, FILES.upload("ticket"), other.id, _file("fax.pdf", PDF))
    request = {"type": "identity.privacy_requested.v1", "event_id": "e1",
               "data": {"request_id": "r1", "kind": "export", "email": "ada@example.com"}}
    desk.run(None, dispatch, request, handlers.HANDLERS)
    [exported] = desk.events("privacy_part_completed")
    assert [(f["id"], f["filename"], f["size"]) for f in exported["data"]["data"]["attachments"]] == [
        (made["id"], "photo.png", len(PNG))]
    assert "content_base64" not in exported["data"]["data"]["attachments"][0]
    erase = {**request, "event_id": "e2", "data": {"request_id": "r2", "kind": "erasure", "email": "ada@example.com"}}
    desk.run(None, dispatch, erase, handlers.HANDLERS)
    assert desk.events("privacy_part_completed")[-1]["data"]["counts"]["attachments"] == 1
    assert not (local_store / "service_desk" / made["id"]).exists()
    assert desk.run(desk.manager, FILES.listing("ticket"), mine.id)["items"] == []
    assert (local_store / "service_desk" / kept["id"]).exists()  # another person's file stays
