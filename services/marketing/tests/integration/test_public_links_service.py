"""The public links, forms and inbound reports of the marketing service as it runs: `nameko run` on a vhost
of the test's own, its database migrated (SQLite file or PostgreSQL), called over the real broker as the
gateway calls it (anonymous for the public links, signed callers for the rest); the double opt-in mail
caught by an SMTP server of the test's own."""
from __future__ import annotations

import email
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import insert

from crm_common.db import utcnow
from crm_common.ports import free_port
from crm_common.testing.waiting import eventually
from crm_marketing.domain import tokens
from crm_marketing.domain.suppressions import email_hash
from crm_marketing.models import Consent, Message, Suppression, TrackingHit
from services.marketing.tests.integration.harness import ANALYST, MARKETER, Marketing

pytestmark = pytest.mark.integration

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
REPORTS = Path(__file__).parents[1] / "unit" / "reports"


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


class PublicLinks(Marketing):
    """The service with its mail catcher and public address; anonymous callers by default."""

    def __init__(self, backend: str, tmp_path, smtp_port: int):
        super().__init__(backend, tmp_path, actor=None, env={
            "CRM_MARKETING_KEY_FILE": str(tmp_path / "marketing.key"),
            "CRM_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "CRM_PUBLIC_URL": "https://crm.engines.example"})

    def message(self, address: str, links: list[str]) -> str:
        message_id = str(uuid.uuid4())
        with self.engine.begin() as conn:
            conn.execute(insert(Message.__table__).values(
                id=message_id, campaign_id=str(uuid.uuid4()), email=address, email_hash=email_hash(address),
                status="sent", is_test=False, attempts=1, links=links, created_at=utcnow(),
                sent_at=utcnow() - timedelta(hours=1), smtp_message_id=f"<{message_id}@crm.engines.example>"))
        return message_id


@pytest.fixture(scope="module")
def inbox():
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


@pytest.fixture(scope="module")
def marketing(backend, tmp_path_factory, inbox):
    tmp = tmp_path_factory.mktemp(f"marketing-public-{backend}")
    service = PublicLinks(backend, tmp, inbox.port)
    patch = pytest.MonkeyPatch()
    patch.setenv("CRM_MARKETING_KEY_FILE", str(tmp / "marketing.key"))  # the service's key: this test signs too
    try:
        yield service
    finally:
        patch.undo()
        service.close()


def address(tag: str = "ada") -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@engines.example"


def test_opens_clicks_and_unsubscribe_over_the_broker_as_anonymous_callers(marketing):
    who = address()
    message_id = marketing.message(who, ["https://engines.example/spring", "https://engines.example/price"])
    track = {"kind": "open", "token": tokens.make("open", message_id), "user_agent": BROWSER}
    assert marketing.call("track", track, client_ip="198.51.100.7") == {"url": None, "machine": False}
    click = {"kind": "click", "token": tokens.make("click", message_id, 1), "user_agent": BROWSER}
    assert marketing.call("track", click)["url"] == "https://engines.example/price"
    assert marketing.refused("track", {**click, "token": tokens.make("click", message_id, 2)}).code == "not_found"
    altered = click["token"][:20] + ("A" if click["token"][20] != "A" else "B") + click["token"][21:]
    assert marketing.refused("track", {**click, "token": altered}).code == "not_found"
    hits = marketing.rows(TrackingHit, TrackingHit.message_id == message_id)
    assert sorted((h.kind, h.machine, h.ip) for h in hits) == [("click", False, None), ("open", False, "198.51.100.7")]
    (opened,) = [e for e in marketing.outbox("marketing.email_opened.v1") if e["data"]["message_id"] == message_id]
    assert (opened["entity"], opened["action"]) == ("message", "update") and who not in str(opened)

    token = {"token": tokens.make("unsubscribe", message_id)}
    assert marketing.call("preview_unsubscribe", token)["unsubscribed"] is False
    assert marketing.rows(Suppression, Suppression.email == who) == []
    assert marketing.call("unsubscribe", token, client_ip="198.51.100.7")["unsubscribed"] is True
    (entry,) = marketing.rows(Suppression, Suppression.email == who)
    assert entry.reason == "unsubscribe"
    (consent,) = marketing.rows(Consent, Consent.email == who)
    assert consent.status == "opted_out"
    assert [e for e in marketing.outbox("marketing.unsubscribed.v1") if e["data"]["message_id"] == message_id]


def test_a_form_submission_with_double_opt_in_is_confirmed_by_the_mailed_link(marketing, inbox):
    form = marketing.call("create_form", {"name": "Newsletter", "double_opt_in": True, "consent_text": "News monthly.",
                                          "consent_text_version": "v1", "honeypot_field": "website",
                                          "fields": [{"name": "email", "label": "E-mail", "type": "email",
                                                      "required": True}]}, actor=MARKETER)
    assert form["submit_path"] == f"/f/{form['id']}" and form["version"] == 1
    assert marketing.refused("create_form", {"name": "x", "fields": []}, actor=ANALYST).code == "forbidden"
    who = address("grace")
    answer = marketing.call("submit_form", {"answers": {"email": who, "website": ""}}, id=form["id"],
                            client_ip="198.51.100.9")
    sent = [e for e in marketing.outbox("marketing.form_submitted.v1")
            if e["data"]["submission_id"] == answer["submission_id"]]
    assert sent and sent[0]["data"]["fields"] == {"email": who}
    mail = eventually(lambda: [m for rcpt, m in inbox.messages if rcpt == [who]], until=bool)[0]
    link = next(w for w in mail.get_payload()[0].get_payload(decode=True).decode().split()
                if w.startswith("https://crm.engines.example/c/"))
    (pending,) = marketing.rows(Consent, Consent.email == who)
    assert (pending.status, pending.ip, pending.text_version) == ("pending", "198.51.100.9", "v1")
    scanned = marketing.call("confirm_consent", {"token": link.rsplit("/", 1)[1], "user_agent": "Barracuda"})
    assert scanned["status"] == "pending" and marketing.rows(Consent, Consent.email == who)[0].status == "pending"
    confirmed = marketing.call("confirm_consent", {"token": link.rsplit("/", 1)[1], "user_agent": BROWSER})
    assert (confirmed["status"], confirmed["already"]) == ("opted_in", False) and confirmed["confirmed_at"].endswith("Z")
    assert marketing.call("confirm_consent", {"token": link.rsplit("/", 1)[1]})["already"] is True
    bad = marketing.refused("submit_form", {"answers": {"email": "nope"}}, id=form["id"])
    assert bad.code == "validation_failed" and "email" in bad.errors
    bot = marketing.call("submit_form", {"answers": {"email": address("bot"), "website": "x"}}, id=form["id"])
    assert not [e for e in marketing.outbox("marketing.form_submitted.v1")
                if e["data"]["submission_id"] == bot["submission_id"]]


def test_a_bounce_report_suppresses_for_a_marketer_and_is_refused_to_an_analyst(marketing):
    who = address("bounce")
    message_id = marketing.message(who, [])
    raw = (REPORTS / "dsn_hard.eml").read_text().replace("ada@engines.example", who).replace(
        "MESSAGE_ID", f"{message_id}@crm.engines.example")
    assert marketing.refused("receive_report", {"raw": raw}, actor=ANALYST).code == "forbidden"
    assert marketing.rows(Suppression, Suppression.email == who) == []
    answer = marketing.call("receive_report", {"raw": raw}, actor=MARKETER)
    assert (answer["outcome"], answer["message_id"], answer["suppressed"]) == ("hard_bounce", message_id, True)
    assert marketing.rows(Suppression, Suppression.email == who)[0].reason == "hard_bounce"
    (row,) = marketing.rows(Message, Message.id == message_id)
    assert (row.status, row.bounce) == ("bounced", "hard")
    broken = marketing.refused("receive_report", {"raw": "Subject: hi\n\nhello"}, actor=MARKETER)
    assert broken.code == "validation_failed" and broken.errors["raw"]
