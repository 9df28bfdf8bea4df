"""Forms: the rules of a form, a submission checked against it, the lead's event, consent (single and double
opt-in, confirmed by the mailed link), the honeypot, and what privacy requests find."""
from __future__ import annotations

import email

import pytest
from aiosmtpd.controller import Controller
from marshmallow import ValidationError
from sqlalchemy import func, select

import crm_marketing_contracts as c
from crm_common.db import new_id
from crm_common.ports import free_port
from crm_common.errors import ServiceError
from crm_marketing.domain import forms, optin, tokens, tracking
from crm_marketing.models import AudienceActivity, Campaign, Consent, FormSubmission

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
FIELDS = [{"name": "email", "label": "E-mail", "type": "email", "required": True},
          {"name": "first_name", "label": "First name"},
          {"name": "company", "label": "Company", "required": True},
          {"name": "size", "label": "Team size", "type": "select", "choices": ["1-10", "11-50", "51+"]},
          {"name": "phone", "label": "Phone", "type": "phone"},
          {"name": "consent", "label": "Send me news", "type": "checkbox"}]


@pytest.fixture
def campaign(session):
    row = Campaign(name="Spring webinar", type="webinar")
    session.add(row)
    session.flush()
    return row


def make(ctx, **body):
    return forms.create(ctx, c.FormIn().load({"name": "Webinar sign-up", "fields": FIELDS,
                                              "consent_text": "I agree to hear from Engines.", **body}))


def submit(ctx, form, answers, ip="198.51.100.7"):
    return forms.submit(ctx, form.id, c.SubmissionIn().load({"answers": answers, "user_agent": "Firefox"}),
                        client_ip=ip)


def refused(fn, *args, code="validation_failed", **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        fn(*args, **kwargs)
    assert raised.value.code == code, raised.value
    return raised.value


def count(session, model):
    return session.execute(select(func.count()).select_from(model)).scalar()


def test_a_form_breaking_a_rule_is_a_422_naming_the_fields(marketer, events):
    bad = refused(make, marketer, fields=[*FIELDS, {"name": "email", "label": "again"},
                                          {"name": "plan", "label": "Plan", "type": "select"}],
                  honeypot_field="company", double_opt_in=True, campaign_id=new_id())
    assert set(bad.errors) == {"fields", "honeypot_field", "campaign_id"}
    assert "double_opt_in" in refused(make, marketer, fields=[{"name": "name", "label": "Name"}],
                                      double_opt_in=True).errors
    with pytest.raises(ValidationError) as schema:
        c.FormIn().load({"name": "x", "fields": FIELDS, "redirect_url": "javascript:alert(1)"})
    assert "redirect_url" in schema.value.messages
    with pytest.raises(ValidationError):
        c.FormIn().load({"name": "x", "fields": FIELDS, "redirect_url": "ftp://files.example/x"})
    assert events == []


def test_a_form_is_created_changed_and_deleted_by_the_marketer(marketer, campaign, session, events):
    form = make(marketer, campaign_id=campaign.id, redirect_url="https://engines.example/thanks")
    dumped = c.Form().dump(form)
    assert dumped["fields"][0] == {"name": "email", "label": "E-mail", "type": "email", "required": True, "choices": []}
    assert dumped["campaign_id"] == campaign.id and dumped["submit_path"] == f"/f/{form.id}"
    refused(forms.update, marketer, form.id, {"name": "v2"}, expected_version=7, code="precondition_failed")
    forms.update(marketer, form.id, {"name": "v2"}, expected_version=1)
    assert (form.name, form.version) == ("v2", 2)
    assert [p.id for p in forms.page(marketer, c.FormQuery().load({"campaign_id": campaign.id}))["items"]] == [form.id]
    forms.delete(marketer, form.id)
    refused(forms.get, marketer, form.id, code="not_found")
    refused(submit, marketer, form, {"email": "ada@engines.example", "company": "Engines"}, code="not_found")
    assert [d["action"] for t, d in events if t == c.RECORD_CHANGED] == ["create", "update", "delete"]


def test_a_submission_is_announced_for_sales_with_the_campaign_and_records_consent(make_ctx, marketer, campaign,
                                                                                    session, events):
    form = make(marketer, campaign_id=campaign.id, consent_text_version="2026-11")
    events.clear()
    answer = submit(make_ctx(), form, {"email": " Ada@Engines.EXAMPLE ", "first_name": "Ada", "company": "Engines",
                                       "size": "11-50", "consent": "on"})
    row = session.get(FormSubmission, answer["submission_id"])
    assert (row.email, row.campaign_id, row.ip) == ("ada@engines.example", campaign.id, "198.51.100.7")
    (sent,) = events.of(c.FORM_SUBMITTED)
    assert sent == {"submission_id": row.id, "form_id": form.id, "campaign_id": campaign.id,
                    "fields": {"email": "ada@engines.example", "first_name": "Ada", "company": "Engines",
                               "size": "11-50", "consent": True}}
    consent = session.get(Consent, row.consent_id)
    assert (consent.status, consent.text_version, consent.source, consent.ip) == (
        "opted_in", "2026-11", f"form:{form.id}", "198.51.100.7")
    assert events.of(c.CONSENT_CHANGED)[0]["status"] == "opted_in"
    assert [(a.kind, a.ref_id) for a in session.execute(select(AudienceActivity)).scalars()] == [
        ("form_submitted", form.id)]
    unticked = submit(make_ctx(), form, {"email": "bob@engines.example", "company": "Engines"})
    assert session.get(FormSubmission, unticked["submission_id"]).consent_id is None  # no box ticked: no consent


def test_bad_answers_are_a_422_naming_each_field_and_record_nothing(make_ctx, marketer, session, events):
    form = make(marketer)
    events.clear()
    bad = refused(submit, make_ctx(), form, {"email": "not-an-address", "size": "huge", "phone": "call me",
                                             "consent": "maybe", "colour": "red"})
    assert set(bad.errors) == {"email", "company", "size", "phone", "consent", "colour"}
    assert bad.errors["company"] == ["this field is required"]
    assert "one value" in refused(submit, make_ctx(), form, {"email": ["a@engines.example", "b@engines.example"],
                                                             "company": "x"}).errors["email"][0]
    assert events == [] and count(session, FormSubmission) == 0 and count(session, Consent) == 0


def test_a_filled_honeypot_is_answered_like_a_success_and_records_nothing(make_ctx, marketer, session, events):
    form = make(marketer, honeypot_field="website", redirect_url="https://engines.example/thanks")
    events.clear()
    answer = submit(make_ctx(), form, {"email": "bot@spam.example", "company": "x", "website": "http://spam.example"})
    assert answer["redirect_url"] == "https://engines.example/thanks" and answer["submission_id"]
    assert events == [] and count(session, FormSubmission) == 0 and count(session, AudienceActivity) == 0
    submit(make_ctx(), form, {"email": "ada@engines.example", "company": "x", "website": ""})
    assert count(session, FormSubmission) == 1  # a person leaves it empty


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def inbox(monkeypatch):
    port = free_port()
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CRM_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("CRM_PUBLIC_URL", "https://crm.engines.example/")
    yield handler
    controller.stop()


def after_commit(ctx):
    for fn in ctx._after:
        fn()


def test_double_opt_in_mails_a_link_that_confirms_once(make_ctx, marketer, session, events, inbox):
    form = make(marketer, double_opt_in=True, consent_text_version="v3")
    ctx = make_ctx()
    answer = submit(ctx, form, {"email": "ada@engines.example", "company": "Engines", "consent": True})
    consent = session.get(Consent, session.get(FormSubmission, answer["submission_id"]).consent_id)
    assert (consent.status, consent.confirmed_at) == ("pending", None) and consent.confirm_token_hash
    assert inbox.messages == []  # not before the commit
    after_commit(ctx)
    ((recipients, mail),) = inbox.messages
    assert recipients == ["ada@engines.example"] and mail["Subject"] == "Please confirm your subscription"
    text = mail.get_payload()[0].get_payload(decode=True).decode()
    link = next(word for word in text.split() if word.startswith("https://crm.engines.example/c/"))
    token = link.rsplit("/", 1)[1]
    assert consent.confirm_token_hash == optin.token_hash(token) and token not in consent.confirm_token_hash
    events.clear()
    scanned = optin.confirm(make_ctx(), {"token": token, "user_agent": "Mimecast Link Scanner"})
    assert (scanned["status"], consent.status, events) == ("pending", "pending", [])  # a scanner confirms nothing
    first = optin.confirm(make_ctx(), {"token": token, "user_agent": BROWSER}, client_ip="198.51.100.8")
    assert (first["status"], first["already"], first["address"]) == ("opted_in", False, "a***@engines.example")
    assert consent.confirmed_at is not None and consent.status == "opted_in"
    (changed,) = events.of(c.CONSENT_CHANGED)
    assert (changed["id"], changed["channel"], changed["status"], changed["previous_status"], changed["source"]) == (
        consent.id, "email", "opted_in", "pending", f"form:{form.id}")
    assert optin.confirm(make_ctx(), {"token": token})["already"] is True and len(events) == 1
    refused(optin.confirm, make_ctx(), {"token": tokens.make("open", consent.id)}, code="not_found")
    altered = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]  # (the last character has unused bits)
    refused(optin.confirm, make_ctx(), {"token": altered}, code="not_found")


def test_the_pages_button_confirms_whatever_the_agent(make_ctx, marketer, session, inbox):
    form = make(marketer, double_opt_in=True)
    answer = submit(make_ctx(), form, {"email": "ada@engines.example", "company": "Engines", "consent": True})
    consent = session.get(Consent, session.get(FormSubmission, answer["submission_id"]).consent_id)
    token = tokens.make("confirm", consent.id)
    assert optin.confirm(make_ctx(), {"token": token})["status"] == "pending"  # no agent: a machine's GET
    assert optin.confirm(make_ctx(), {"token": token, "pressed": True})["status"] == "opted_in"


def test_a_withdrawn_consent_is_not_confirmed_by_an_old_link(make_ctx, marketer, session, sent, inbox):
    form = make(marketer, double_opt_in=True)
    ctx = make_ctx()
    answer = submit(ctx, form, {"email": "ada@engines.example", "company": "Engines", "consent": True})
    consent = session.get(Consent, session.get(FormSubmission, answer["submission_id"]).consent_id)
    token = tokens.make("confirm", consent.id)
    tracking.unsubscribe(make_ctx(), {"token": tokens.make("unsubscribe", sent(email="ada@engines.example").id)})
    assert consent.status == "opted_out"
    refused(optin.confirm, make_ctx(), {"token": token, "pressed": True}, code="not_found")
    assert consent.status == "opted_out"


def test_an_unreachable_mail_server_leaves_the_consent_pending(make_ctx, marketer, session, monkeypatch, caplog):
    monkeypatch.setenv("CRM_SMTP_URL", "smtp://127.0.0.1:1?timeout=1")
    form = make(marketer, double_opt_in=True)
    ctx = make_ctx()
    submit(ctx, form, {"email": "ada@engines.example", "company": "Engines", "consent": True})
    after_commit(ctx)
    assert session.execute(select(Consent.status)).scalar() == "pending"
    assert "not sent" in caplog.text and "ada@engines.example" not in caplog.text


def test_privacy_exports_and_erases_the_submissions_of_an_address(make_ctx, marketer, session):
    form = make(marketer)
    submit(make_ctx(), form, {"email": "ada@engines.example", "company": "Engines", "phone": "+44 20 7946 0000"})
    data, counts = forms.export(make_ctx(), "ADA@engines.example")
    assert counts == {"form_submissions": 1} and data["form_submissions"][0]["answers"]["phone"] == "+44 20 7946 0000"
    assert forms.erase(make_ctx(), "ada@engines.example") == {"form_submissions": 1}
    row = session.execute(select(FormSubmission)).scalar_one()
    assert (row.email, row.answers, row.ip, row.form_id) == (None, None, None, form.id)
    assert forms.export(make_ctx(), "ada@engines.example") == ({}, {})
    assert forms.export(make_ctx(), "nobody@engines.example") == ({}, {})
