"""A template taken apart once (fill.py): every message filled in is the very message Jinja and the link scan
make (headers, tracked links, pixel, text part), and a template it cannot take apart is left to Jinja."""
from __future__ import annotations

import uuid
from types import SimpleNamespace
from unittest import mock

import pytest

from crm_marketing.domain import compose, fill, rendering, tokens

PUBLIC = "https://crm.example.com"
SENDER = compose.Sender("news@example.com", "Acme News")
CAMPAIGN = SimpleNamespace(id="c-1", name="Spring <b>", type="email")
SIMPLE = ('<html><body><h1>Hello {{ contact.first_name|default("there") }}</h1><p>{{ contact.first_name }} '
          '{{ contact["last_name"] }} of {{ account.name|d("your company") }}, score {{ contact.score }}</p>'
          '<a href="https://shop.example.com/p?a=1&amp;b=2">Shop</a> <a href="mailto:s@example.com">Mail</a> '
          "<a href='http://example.org/two'>Two</a> <a href=\"#top\">Top</a> "
          '<a href=" {{ unsubscribe_url }} ">Unsubscribe</a></body></html>')
VALUE_IN_A_TAG = '<p><a title="{{ contact.company }}" href="https://x.example/">x</a></p></BODY >'
VALUE_IN_A_LINK = '<a href="https://x.example/?n={{ contact.first_name }}">x</a> no body'
WITH_IF = '<p>{% if contact.first_name %}Hi{% endif %} <a href="https://x.example/">x</a></p>'
PEOPLE = [dict(first_name="Ann", last_name="O'Neil <x>", company="A & B", score=0),
          dict(first_name=None, last_name=None, company=None, score=7),
          dict(first_name="<i>Bo</i>", last_name="Lee", company="Co", score=None)]


def member(**fields):
    base = dict(id="m-1", email="ann@example.com", title=None, phone=None, country=None, industry=None, grade=None,
                lifecycle_stage=None)
    return SimpleNamespace(**base, **fields)


def both(template, person):
    mid = str(uuid.uuid4())
    minter = tokens.Minter(mid)
    recipient = rendering.recipient_of(member(**person), CAMPAIGN)
    recipient["unsubscribe_url"] = unsubscribe = compose.unsubscribe_url(mid, PUBLIC, minter)
    common = dict(message_id=mid, to="ann@example.com", sender=SENDER, public=PUBLIC, unsubscribe=unsubscribe,
                  unsubscribe_mailto="u@example.com", minter=minter)
    with mock.patch.object(compose, "_date", return_value="Sat, 05 Dec 2026 00:00:00 GMT"):
        slow = compose.compose(rendering.render(template, recipient), **common)
        skeleton = fill.prepare(template, PUBLIC)
        fast = fill.message(skeleton, recipient, **common) if skeleton is not None else None
    return skeleton, slow, fast


@pytest.mark.parametrize("html,dynamic", [(SIMPLE, False), (VALUE_IN_A_TAG, True), (VALUE_IN_A_LINK, True)])
@pytest.mark.parametrize("text", [None, "Hi {{ contact.first_name|default('you') }}", "  "])
@pytest.mark.parametrize("person", PEOPLE)
def test_a_filled_in_message_is_the_rendered_one(html, dynamic, text, person):
    template = SimpleNamespace(id=str(uuid.uuid4()), version=1, subject="{{ contact.first_name }},  spring  is here", html=html,
                               text=text)
    skeleton, slow, fast = both(template, person)
    assert skeleton is not None and skeleton.dynamic is dynamic
    assert fast == slow


def test_the_links_of_a_simple_template_are_placed_once():
    template = SimpleNamespace(id="t", version=1, subject="Hi", html=SIMPLE, text=None)
    skeleton = fill.prepare(template, PUBLIC)
    assert skeleton.links == ["https://shop.example.com/p?a=1&b=2", "http://example.org/two"]
    assert not skeleton.dynamic and skeleton.html.pixel is not None


@pytest.mark.parametrize("html", [WITH_IF, '{{ contact.first_name|upper }}', '{{ "x" }}', '{{ contact.first_name ~ "!" }}'])
def test_anything_but_placeholders_is_left_to_jinja(html):
    template = SimpleNamespace(id="t", version=1, subject="Hi", html=html, text=None)
    assert fill.prepare(template, PUBLIC) is None


def test_a_part_over_the_limit_is_refused_as_rendering_refuses_it(monkeypatch):
    monkeypatch.setattr(rendering, "MAX_OUTPUT", 200)
    template = SimpleNamespace(id="big", version=1, subject="Hi", html="<p>" + "x" * 190 + "{{ contact.company }}</p>",
                               text="short")
    with pytest.raises(rendering.RenderError):
        both(template, PEOPLE[0])
    skeleton = fill.prepare(template, PUBLIC)
    recipient = {**rendering.recipient_of(member(**PEOPLE[0]), CAMPAIGN), "unsubscribe_url": f"{PUBLIC}/u/x"}
    with pytest.raises(rendering.RenderError):
        fill.message(skeleton, recipient, message_id=str(uuid.uuid4()), to="a@example.com", sender=SENDER,
                     public=PUBLIC, unsubscribe=f"{PUBLIC}/u/x", unsubscribe_mailto=None,
                     minter=tokens.Minter(str(uuid.uuid4())))
