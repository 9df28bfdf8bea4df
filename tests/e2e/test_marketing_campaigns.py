"""Templates and campaigns through the gateway, as a marketer uses them: a template sanitised and checked on
save, its preview, a campaign with A/B variants, bad input refused with a 422 and nothing stored, a role
without the permission changing nothing, and the stats of a campaign with a lead and a won deal that sales
attributed to it."""
from __future__ import annotations

import uuid

import pytest

from crm_common.testing.waiting import eventually
from tests.e2e.marketing_e2e import created, people_of, problem

pytestmark = pytest.mark.e2e

TEMPLATES, CAMPAIGNS = "/api/v1/email-templates", "/api/v1/campaigns"
HTML = ('<html><head><style>.cta { color: #ffffff; background-color: #0066cc }</style></head><body>'
        '<p>Hi {{ contact.first_name|default("there") }},</p>'
        '<a class="cta" href="https://shop.example/spring" onclick="steal()">See the offer</a>'
        '<script>alert(1)</script></body></html>')


@pytest.fixture(scope="module")
def people(admin):
    return people_of(admin)


def template(client, **body) -> dict:
    return created(client.post(TEMPLATES, json={"name": f"Spring {uuid.uuid4().hex[:6]}",
                                                "subject": "Hi {{ contact.first_name|default('there') }}",
                                                "html": HTML, **body}))


def test_a_template_is_sanitised_with_its_styles_inlined_and_read_back(people):
    marketer = people["marketer"]
    response = marketer.post(TEMPLATES, json={"name": "Spring", "subject": "Spring news", "html": HTML})
    made = created(response)
    assert response.headers["Location"].endswith(f"{TEMPLATES}/{made['id']}")
    assert response.headers["ETag"] == f'"{made["version"]}"'
    assert 'style="color:#ffffff;background-color:#0066cc"' in made["html"]
    for gone in ("<script", "onclick", "<style", "class="):
        assert gone not in made["html"]
    assert '{{ contact.first_name|default("there") }}' in made["html"] and made["text"] is None
    assert marketer.get(f"{TEMPLATES}/{made['id']}").json() == made
    changed = marketer.patch(f"{TEMPLATES}/{made['id']}", json={"subject": "Spring sale"},
                             headers={"If-Match": f'"{made["version"]}"'})
    assert changed.status_code == 200 and changed.json()["version"] == made["version"] + 1
    stale = marketer.patch(f"{TEMPLATES}/{made['id']}", json={"subject": "x"},
                           headers={"If-Match": f'"{made["version"]}"'})
    assert stale.status_code == 412


def test_a_bad_template_is_a_422_naming_the_line_and_nothing_is_stored(people):
    marketer = people["marketer"]
    name = f"bad {uuid.uuid4().hex[:8]}"
    for body, field, said in (
            ({"html": "<p>ok</p>\n<p>{{ ''.__class__.__mro__ }}</p>"}, "html", "line 2"),
            ({"html": "<p>{{ cycler.__init__.__globals__ }}</p>"}, "html", "unknown name 'cycler'"),
            ({"subject": "Hi {% if contact.first_name %}"}, "subject", "line 1"),
            ({"text": "{{ contact.first_name.format(1) }}"}, "text", "a call is not allowed"),
            ({"html": "<p>{{ contact.frist_name }}</p>"}, "html", "unknown field contact.frist_name")):
        bad = problem(marketer.post(TEMPLATES, json={"name": name, "subject": "Hi", "html": "<p>x</p>", **body}), 422)
        assert list(bad["errors"]) == [field] and said in bad["errors"][field][0], bad
    assert set(problem(marketer.post(TEMPLATES, json={"name": name}), 422)["errors"]) == {"subject", "html"}
    assert marketer.get(TEMPLATES, params={"q": name}).json()["items"] == []


def test_the_preview_of_someone_not_in_the_audience_is_a_404(people):
    marketer = people["marketer"]
    made = template(marketer)
    missing = problem(marketer.post(f"{TEMPLATES}/{made['id']}/preview", json={"contact_id": str(uuid.uuid4())}),
                      404)
    assert "contact or lead" in missing["detail"]
    assert "contact_id" in problem(marketer.post(f"{TEMPLATES}/{made['id']}/preview", json={}), 422)["errors"]


def test_a_campaign_with_variants_and_the_422s_of_bad_input(people):
    marketer = people["marketer"]
    a, b = template(marketer), template(marketer)
    body = {"name": f"Spring {uuid.uuid4().hex[:6]}", "type": "email", "budget": "5000.00", "currency": "EUR",
            "starts_on": "2026-12-01", "ends_on": "2026-12-31", "from_name": "Shop",
            "from_email": "news@shop.example", "ab_metric": "clicks",
            "variants": [{"template_id": a["id"], "share": 50}, {"template_id": b["id"], "share": 50}]}
    response = marketer.post(CAMPAIGNS, json=body)
    campaign = created(response)
    assert response.headers["Location"].endswith(f"{CAMPAIGNS}/{campaign['id']}")
    assert (campaign["status"], campaign["budget"], campaign["ab_metric"], campaign["ab_wait_minutes"]) == (
        "draft", "5000.00", "clicks", 240)
    assert [(v["label"], v["template_id"], v["share"]) for v in campaign["variants"]] == [
        ("A", a["id"], 50), ("B", b["id"], 50)]
    assert marketer.get(f"{CAMPAIGNS}/{campaign['id']}").json() == campaign

    before = marketer.get(CAMPAIGNS, params={"limit": 200}).json()["items"]
    for bad, field in (({"segment_ids": [str(uuid.uuid4())]}, "segment_ids"),
                       ({"template_id": str(uuid.uuid4()), "variants": []}, "template_id"),
                       ({"ends_on": "2026-11-01"}, "ends_on"),
                       ({"variants": [{"template_id": a["id"], "share": 60}, {"template_id": b["id"], "share": 50}]},
                        "variants"),
                       ({"type": "radio"}, "type"), ({"budget": 12.5}, "budget"), ({"colour": "red"}, "colour")):
        assert field in problem(marketer.post(CAMPAIGNS, json={**body, **bad}), 422)["errors"], bad
    assert marketer.get(CAMPAIGNS, params={"limit": 200}).json()["items"] == before
    refused = problem(marketer.patch(f"{CAMPAIGNS}/{campaign['id']}", json={"status": "scheduled"}), 409)
    assert "by its send" in refused["detail"]
    assert marketer.get(f"{TEMPLATES}/{a['id']}").status_code == 200
    assert problem(marketer.delete(f"{TEMPLATES}/{a['id']}"), 409)["campaign_ids"] == [campaign["id"]]


def test_a_role_without_the_permission_changes_nothing(people):
    marketer, analyst, rep = people["marketer"], people["analyst"], people["sales_rep"]
    made = template(marketer)
    campaign = created(marketer.post(CAMPAIGNS, json={"name": "Fair", "type": "event", "template_id": made["id"]}))
    problem(rep.get(CAMPAIGNS), 403)
    problem(rep.get(f"{CAMPAIGNS}/{campaign['id']}/stats"), 403)
    problem(rep.post(TEMPLATES, json={"name": "x", "subject": "x", "html": "<p>x</p>"}), 403)
    problem(analyst.patch(f"{CAMPAIGNS}/{campaign['id']}", json={"name": "Mine"}), 403)
    problem(analyst.delete(f"{TEMPLATES}/{made['id']}"), 403)
    problem(analyst.post(CAMPAIGNS, json={"name": "x"}), 403)
    assert analyst.get(f"{CAMPAIGNS}/{campaign['id']}").json() == campaign
    assert marketer.get(f"{TEMPLATES}/{made['id']}").json() == made


def test_the_stats_count_a_lead_and_a_won_deal_sales_attributed_to_the_campaign(people, admin):
    marketer = people["marketer"]
    campaign = created(marketer.post(CAMPAIGNS, json={"name": f"Webinar {uuid.uuid4().hex[:6]}", "type": "webinar",
                                                      "currency": "EUR", "actual_cost": "400.00"}))
    empty = marketer.get(f"{CAMPAIGNS}/{campaign['id']}/stats")
    assert empty.status_code == 200, empty.text
    assert (empty.json()["recipients"], empty.json()["leads"], empty.json()["roi"]) == (0, 0, "-1.0000")
    lead = created(marketer.post("/api/v1/leads", json={
        "last_name": "Lovelace", "company": f"Engines {uuid.uuid4().hex[:6]}",
        "email": f"ada-{uuid.uuid4().hex[:8]}@engines.example", "campaign_id": campaign["id"]}))
    assert lead["campaign_id"] == campaign["id"]
    deal = created(admin.post("/api/v1/opportunities", json={
        "name": "Engines licence", "amount": "1000.00", "currency": "EUR", "campaign_id": campaign["id"]}))
    won = admin.patch(f"/api/v1/opportunities/{deal['id']}", json={"stage": "closed_won"},
                      headers={"If-Match": f'"{deal["version"]}"'})
    assert won.status_code == 200, won.text
    stats = eventually(lambda: marketer.get(f"{CAMPAIGNS}/{campaign['id']}/stats").json(), timeout=30,
                       until=lambda found: found["leads"] == 1 and found["won_amount"] == "1000.00")
    assert (stats["leads"], stats["opportunities"], stats["won"]) == (1, 1, 1)
    assert (stats["won_amount"], stats["cost"], stats["roi"], stats["currency"]) == ("1000.00", "400.00", "1.5000",
                                                                                      "EUR")
    assert people["analyst"].get(f"{CAMPAIGNS}/{campaign['id']}/stats").json()["leads"] == 1
