"""Campaigns and analytics in a real browser: a campaign's page with its figures; a saved report run as a table
and a server-drawn SVG bar chart; a dashboard's widgets over the viewer's scope; in English and Chinese."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def test_a_marketer_reads_a_campaigns_figures(suite, admin, console_for):
    marketer = admin.create_user(["marketer"], full_name="Hu Jing")
    client = suite.login(marketer["email"], marketer["password"])
    tag = uuid.uuid4().hex[:6]
    made = client.post("/api/v1/campaigns", json={"name": f"春季网络研讨会 {tag}", "type": "webinar", "status": "scheduled",
                                                  "budget": "8000.00", "currency": "CNY", "starts_on": "2027-03-01",
                                                  "ends_on": "2027-03-31"})
    assert made.status_code == 201, made.text
    client.post("/api/v1/campaigns", json={"name": f"Other {uuid.uuid4().hex[:6]}", "type": "print"})

    person = console_for()
    page = person.sign_in(marketer["email"], marketer["password"])
    page.wait_for_url("**/")
    page.get_by_role("link", name="Campaigns").click()
    page.fill("#q", tag)
    page.get_by_role("button", name="Apply").click()
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Webinar")
    expect(rows).to_contain_text("CN¥8,000.00")
    rows.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible()
    for label in ("Recipients", "Unique opens", "Unique clicks"):
        expect(page.locator("ol.funnel")).to_contain_text(label)
    expect(page.locator("#stats")).to_contain_text("Bounced")
    person.shot("campaign-en")
    assert person.serious_violations() == []
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", name="效果")).to_be_visible()
    expect(page.locator("dl.facts").first).to_contain_text("网络研讨会")
    person.shot("campaign-zh")
    assert not person.csp_errors, person.csp_errors


def test_a_manager_runs_a_report_and_opens_a_dashboard_drawn_on_the_server(suite, admin, console_for):
    team = admin.post("/api/v1/teams", json={"name": f"Console reports {uuid.uuid4().hex[:6]}"}).json()
    rep = admin.as_new_user(["sales_rep"], team_id=team["id"])
    boss = admin.create_user(["sales_manager"], team_id=team["id"], full_name="Ma Lin")
    manager = suite.login(boss["email"], boss["password"])
    tag = uuid.uuid4().hex[:6]
    for name, amount in ((f"<b>Big</b> {tag}", "9000.00"), (f"Small {tag}", "3000.00")):
        assert rep.post("/api/v1/opportunities", json={"name": name, "amount": amount, "currency": "CNY",
                                                       "expected_close_date": "2027-01-31"}).status_code == 201
    report = manager.post("/api/v1/reports", json={"name": f"Team deals {tag}", "source": "opportunities",
                                                   "columns": ["name", "amount", "stage"], "sort": "-amount",
                                                   "filters": {"owner_id": rep.user["id"]}, "chart": "bar"}).json()
    eventually(lambda: manager.get(f"/api/v1/reports/{report['id']}/run").json(),
               until=lambda body: body.get("total") == 2)
    board = manager.post("/api/v1/dashboards", json={"name": f"My board {tag}", "widgets": [
        {"report_id": report["id"], "chart": "bar", "title": "Deals by size"}]}).json()

    person = console_for()
    page = person.sign_in(boss["email"], boss["password"])
    page.wait_for_url("**/")
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("link", name=f"Team deals {tag}").click()
    table = page.locator("table.list tbody")
    expect(table.locator("tr")).to_have_count(2)
    expect(table.locator("tr").first).to_contain_text(f"<b>Big</b> {tag}")
    bars = page.locator("figure.chart svg rect")
    expect(bars).to_have_count(2)
    widths = [float(bars.nth(i).get_attribute("width")) for i in range(2)]
    assert widths[0] == 200.0 and abs(widths[1] - 200.0 / 3) < 0.1  # 9000 and 3000 on one scale
    expect(page.locator("script[src*='chart']")).to_have_count(0)
    person.shot("report-en")

    page.go_back()
    page.get_by_role("link", name=f"My board {tag}").click()
    widget = page.locator("section.widget")
    expect(widget.get_by_role("heading", name="Deals by size")).to_be_visible()
    expect(widget.locator("svg rect")).to_have_count(2)
    assert person.serious_violations() == []
    page.get_by_role("button", name="简体中文").click()
    expect(widget.get_by_role("link", name="打开报表")).to_be_visible()
    person.shot("dashboard-zh")
    assert not person.csp_errors, person.csp_errors
