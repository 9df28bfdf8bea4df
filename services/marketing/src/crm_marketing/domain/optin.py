"""Double opt-in: a pending consent, a confirmation mail with a signed link, and the link that confirms.

The token is `tokens.make("confirm", consent_id)`; the consent keeps its SHA-256 only (confirm_token_hash),
so a consent withdrawn since (opted_out clears the hash) is not confirmed by an old link. The mail goes out
after the commit (`ctx.after_commit`) through the one SMTP mailer; if the server cannot take it, the
consent stays pending (the person may submit again) and the failure is logged without the address.
"""
from __future__ import annotations

import hashlib
import logging
from email.message import EmailMessage
from email.utils import make_msgid
from html import escape

from crm_common import config
from crm_common.db import utcnow
from crm_common.errors import not_found
from crm_common import mail
from crm_marketing.domain import consents, tokens
from crm_marketing.domain.tracking import is_machine, mask
from crm_marketing.models import Consent

log = logging.getLogger(__name__)
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8080"
DEFAULT_SENDER = "marketing@crm.localhost"


def public_url() -> str:
    """Where the public links point (CRM_PUBLIC_URL: the gateway as recipients reach it)."""
    return (config.env("CRM_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")


def sender() -> str:
    return config.env("CRM_MARKETING_SENDER") or DEFAULT_SENDER


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request(ctx, consent: Consent, form) -> str:
    """Give the pending consent its confirmation link and mail it after the commit; the link."""
    token = tokens.make("confirm", consent.id)
    consent.confirm_token_hash = token_hash(token)
    ctx.session.flush()
    link = f"{public_url()}/c/{token}"
    address, name, text = consent.email, form.name, form.consent_text or ""
    ctx.after_commit(lambda: send_confirmation(address, link, name, text))
    return link


def confirmation(address: str, link: str, form_name: str, consent_text: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Please confirm your subscription"
    message["From"] = sender()
    message["To"] = address
    message["Message-ID"] = make_msgid(domain=sender().rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(f"You asked to hear from us ({form_name}).\n\n{consent_text}\n\n"
                        f"Confirm with this link:\n{link}\n\nIf you did not ask, ignore this mail: nothing happens.\n")
    message.add_alternative(
        f"<p>You asked to hear from us ({escape(form_name)}).</p><p>{escape(consent_text)}</p>"
        f'<p><a href="{escape(link)}">Confirm my subscription</a></p>'
        "<p>If you did not ask, ignore this mail: nothing happens.</p>", subtype="html")
    return message


def send_confirmation(address: str, link: str, form_name: str, consent_text: str) -> bool:
    """Hand the confirmation mail to the SMTP server; False (logged, no address) when it could not."""
    try:
        with mail.Connection() as smtp:
            smtp.send(confirmation(address, link, form_name, consent_text), sender(), address)
        return True
    except (mail.Refused, mail.Unavailable, ValueError) as exc:
        log.warning("double opt-in mail not sent: %s", exc)
        return False


def confirm(ctx, data: dict, client_ip: str | None = None) -> dict:
    """The confirmation link followed: the pending consent becomes opted_in (confirmed_at); again is the
    same answer; a forged link, or one of a consent withdrawn since, is a 404. A link scanner's GET (by its
    user agent) changes nothing: the answer stays pending and the page offers a button (`pressed`)."""
    found = tokens.read("confirm", data["token"])
    consent = ctx.session.get(Consent, found[0]) if found is not None else None
    if consent is None:
        raise not_found("confirmation link")
    if consent.status == "opted_in" and consent.confirmed_at is not None:
        return _answer(consent, already=True)
    if consent.status != "pending" or consent.confirm_token_hash != token_hash(data["token"]):
        raise not_found("confirmation link")
    if not data.get("pressed") and is_machine("click", data.get("user_agent"), False, None):
        return _answer(consent, already=False)  # a link scanner's GET: the page offers a button, nothing changes
    consents.record(ctx, consent.email, consent.channel, "opted_in", consent.source, ip=client_ip,
                    text_version=consent.text_version)
    consent.confirmed_at = consent.confirmed_at or utcnow()
    ctx.session.flush()
    return _answer(consent, already=False)


def _answer(consent: Consent, already: bool) -> dict:
    return {"address": mask(consent.email), "status": consent.status, "confirmed_at": consent.confirmed_at,
            "already": already}

