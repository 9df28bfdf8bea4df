"""Action texts: plain placeholders are filled without Jinja2, and give exactly what Jinja2's sandbox gives."""
from __future__ import annotations

import pytest

from crm_automation.domain import render

CONTEXT = {"record": {"company": "Acme", "amount": 12.5, "count": 3, "won": True, "owner_id": None,
                      "tags": ["a", "b"], "address": {"city": "Berlin"}, "items": "not the method"},
           "event": {"type": "sales.lead_created.v1"}, "run": {"id": "run-1", "depth": 0}}

TEXTS = ["New lead {{ record.company }}", "{{record.amount}} / {{ record.count }} / {{ record.won }}",
         "owner: [{{ record.owner_id }}]", "missing: [{{ record.nothing }}]", "{{ record.address.city }}",
         "{{ record.tags }}", "{{ record.address }}", "{{ record.items }}", "{{ event.type }} in {{ run.id }}",
         "{{ record.company | upper }}", "{% if record.won %}{{ record.company }}{% endif %}", "{{ range }}", "{{ true }}",
         "a }} b {{ record.company }}", "{{ record.company }}\n", "{{ nothing }}", "{# note #}{{ record.count }}",
         "{{ record.company }}{{ record.count }}", "{{ run.depth }}"]


@pytest.mark.parametrize("text", TEXTS)
def test_a_text_renders_as_jinja2_renders_it(text):
    assert render.render(text, CONTEXT) == render._compiled(text).render(**CONTEXT)


def test_a_placeholder_past_a_missing_name_fails_as_in_jinja2():
    with pytest.raises(ValueError):
        render.render("{{ record.nothing.city }}", CONTEXT)


def test_plain_placeholders_do_not_go_through_jinja2():
    assert render._plain("New lead {{ record.company }}") == ("New lead ", ("record", "company"), "")
    assert render._plain("{{ record.company | upper }}") is None
    assert render._plain("{{ record.items }}") is None  # a dict's attribute: Jinja2 decides
