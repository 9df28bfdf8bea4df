"""Templates rendered for one recipient (the smallest version the send needs; the "campaigns" area owns this
module and its full version replaces this one at merge: CSS inlining, preview, sanitising on save).

`render(template, recipient) -> Rendered(subject, html, text)` in Jinja2's ImmutableSandboxedEnvironment
(data only); `recipient_of(member, campaign=None)` is the dict a template sees."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment(autoescape=False)
_HTML_ENV = ImmutableSandboxedEnvironment(autoescape=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str | None


@lru_cache(maxsize=256)
def _compiled(source: str, html: bool):
    return (_HTML_ENV if html else _ENV).from_string(source)


def render(template, recipient: dict) -> Rendered:
    return Rendered(subject=_compiled(template.subject, False).render(recipient),
                    html=_compiled(template.html or "", True).render(recipient),
                    text=_compiled(template.text, False).render(recipient) if template.text else None)


def recipient_of(member, campaign=None) -> dict:
    return {"contact": {"first_name": member.first_name, "last_name": member.last_name, "email": member.email,
                        "title": member.title, "company": member.company, "country": member.country},
            "account": {"name": member.company},
            "campaign": {"id": campaign.id, "name": campaign.name} if campaign is not None else {}}
