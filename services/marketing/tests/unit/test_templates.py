"""Email templates: stored sanitised and checked (a 422 naming the part and line), edits and deletes that
would pull a template from under a send refused, and the preview for one person of the audience."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import crm_marketing_contracts as c
from crm_common.errors import ServiceError
from crm_marketing.domain import campaigns, templates
from crm_marketing.models import AudienceMember, EmailTemplate

HTML = '<p style="color: red; position: absolute">Hi {{ contact.first_name|default("there") }}</p><script>x()</script>'


def add(ctx, **body):
    return templates.create(ctx, c.TemplateIn().load({"name": "Welcome", "subject": "Hi", "html": HTML, **body}))


def refused(fn, *args, code="validation_failed", **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        fn(*args, **kwargs)
    assert raised.value.code == code, raised.value
    return raised.value


def test_a_template_is_stored_sanitised_and_its_change_recorded(marketer, events):
    template = add(marketer, subject="Hi {{ contact.first_name|default('there') }}")
    assert template.html == '<p style="color:red">Hi {{ contact.first_name|default("there") }}</p>'
    assert (template.owner_id, template.text, template.version) == ("mk-1", None, 1)
    assert events == [(c.RECORD_CHANGED, {"entity": "email_template", "id": template.id, "action": "create",
                                          "changed_fields": []})]


@pytest.mark.parametrize("part, source, said", [
    ("html", "<p>{{ ''.__class__.__mro__ }}</p>", "html line 1: '__class__' is not a recipient field"),
    ("subject", "Hi {{ contact.first_name", "subject line 1: unexpected end of template"),
    ("text", "a\n{% for x in contact %}{% endfor %}", "text line 2: {% for %} is not allowed"),
    ("html", "<script>{{ contact.first_name }}</script>", "html nothing is left once sanitised"),
    ("html", "<p>{% if contact.first_name %}</p><script>{% endif %}</script>", "html once sanitised, line 1"),
])
def test_a_bad_template_is_a_422_naming_the_part_and_line_and_nothing_is_stored(marketer, events, part, source, said):
    error = refused(add, marketer, **{part: source})
    assert list(error.errors) == [part] and said.lower() in error.detail.lower(), error.detail
    assert marketer.session.execute(select(EmailTemplate)).scalars().all() == [] and events == []


def test_an_update_is_checked_too_and_bumps_the_version(marketer):
    template = add(marketer)
    refused(templates.update, marketer, template.id, c.TemplatePatch().load({"html": "{{ contact.nope }}"}))
    changed = templates.update(marketer, template.id, c.TemplatePatch().load({"subject": "News"}),
                               expected_version=1)
    assert (changed.subject, changed.version) == ("News", 2)
    refused(templates.update, marketer, template.id, c.TemplatePatch().load({"name": "x"}), expected_version=1,
            code="precondition_failed")


def test_a_template_in_use_cannot_be_pulled_from_under_a_campaign(marketer):
    template = add(marketer)
    campaign = campaigns.create(marketer, c.CampaignIn().load({"name": "Spring", "template_id": template.id}))
    in_use = refused(templates.delete, marketer, template.id, code="conflict")
    assert in_use.extra == {"campaign_ids": [campaign.id]}
    campaign.status = "sending"
    refused(templates.update, marketer, template.id, c.TemplatePatch().load({"name": "x"}), code="conflict")
    campaign.status = "sent"
    templates.delete(marketer, template.id)
    refused(templates.get, marketer, template.id, code="not_found")


def test_the_preview_renders_for_a_contact_or_lead_of_the_audience(marketer, session):
    session.add_all([AudienceMember(kind="contact", source_id="contact-1", email="ada@engines.example",
                                    first_name="<Ada>", company="Engines", score=0, tags=[]),
                     AudienceMember(kind="lead", source_id="lead-1", email="bob@engines.example", score=0, tags=[])])
    template = add(marketer, subject="For {{ contact.first_name|default('you') }}",
                   html='<p>Hi {{ contact.first_name|default("there") }} at {{ account.name }}</p>'
                        '<a href="{{ unsubscribe_url }}">unsubscribe</a>')
    shown = templates.preview(marketer, template.id, {"contact_id": "contact-1"})
    assert shown == {"subject": "For <Ada>",
                     "html": '<p>Hi &lt;Ada&gt; at Engines</p><a href="#unsubscribe" rel="noopener noreferrer">'
                             'unsubscribe</a>',
                     "text": "Hi <Ada> at Engines\n\nunsubscribe (#unsubscribe)\n"}
    assert templates.preview(marketer, template.id, {"contact_id": "lead-1"})["subject"] == "For you"
    refused(templates.preview, marketer, template.id, {"contact_id": "nobody"}, code="not_found")


def test_a_role_that_only_reads_cannot_write(ctx_as, marketer):
    analyst = ctx_as("analyst", "an-1")
    template = add(marketer)
    assert templates.get(analyst, template.id).id == template.id
    refused(templates.delete, analyst, template.id, code="forbidden")
    assert [t.id for t in templates.page(analyst, c.TemplateQuery().load({"q": "welc"}))["items"]] == [template.id]
