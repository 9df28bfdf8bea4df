"""Administration in a real browser: an administrator creates a team and a user, changes the user's roles;
anyone else sees no administration at all (a 404, as the API answers them)."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def test_an_administrator_creates_a_team_and_a_user_and_changes_their_roles(suite, admin, console_for):
    tag = uuid.uuid4().hex[:6]
    person = console_for()
    page = person.sign_in(suite.admin_email, suite.admin_password)
    page.wait_for_url("**/")
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Teams").click()
    page.fill("#f-name", f"华东销售 {tag}")
    page.get_by_role("button", name="Create team").click()
    expect(page.locator(".flash")).to_contain_text("Team created.")
    team = next(t for t in admin.get("/api/v1/teams", params={"limit": 200}).json()["items"]
                if t["name"] == f"华东销售 {tag}")

    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="New user").click()
    email = f"new-{tag}@crm.test"
    page.fill("#f-email", email)
    page.fill("#f-full_name", "Gao Ming")
    page.fill("#f-password", "short")
    page.check("input[name=roles][value=sales_rep]")
    page.select_option("#f-team_id", team["id"])
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("#e-password")).to_be_visible()  # the API's password policy, beside the field
    assert page.locator("input[name=roles][value=sales_rep]").is_checked()  # the form kept what was chosen
    assert admin.get("/api/v1/users", params={"email": email}).json()["items"] == []
    page.fill("#f-password", "Str0ng-Passw0rd-for-Gao!")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator(".flash")).to_contain_text(f"User {email} created.")
    made = admin.get("/api/v1/users", params={"email": email}).json()["items"][0]
    assert made["roles"] == ["sales_rep"] and made["team_id"] == team["id"]

    page.check("input[name=roles][value=sales_manager]")
    page.uncheck("input[name=roles][value=sales_rep]")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("Saved.")
    assert admin.get(f"/api/v1/users/{made['id']}").json()["roles"] == ["sales_manager"]
    person.shot("admin-user-en")
    assert person.serious_violations() == []

    page.get_by_role("link", name="Roles").click()
    expect(page.locator("details.role summary", has_text="sales_rep")).to_have_count(1)
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("heading", name="角色")).to_be_visible()
    expect(page.get_by_role("link", name="系统管理")).to_be_visible()
    person.shot("admin-roles-zh")
    assert not person.csp_errors, person.csp_errors


def test_someone_else_sees_no_administration(suite, admin, console_for):
    manager = admin.create_user(["sales_manager"])
    person = console_for()
    page = person.sign_in(manager["email"], manager["password"])
    page.wait_for_url("**/")
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
    for path in ("/admin/users/", "/admin/teams/", "/admin/roles/", f"/admin/users/{manager['id']}",
                 "/admin/api-keys/", "/admin/webhooks/", "/admin/workflows/"):
        answer = page.goto(person.base_url + path)
        assert answer.status == 404
        expect(page.locator("main")).to_contain_text("Not found, or not visible to you.")
    refused = page.request.post(person.base_url + "/admin/teams/", form={"name": "sneaky"})
    assert refused.status in (400, 404)
    assert not [t for t in admin.get("/api/v1/teams", params={"limit": 200}).json()["items"] if t["name"] == "sneaky"]


def test_an_administrator_issues_an_api_key_subscribes_a_webhook_and_switches_a_workflow_template(
        suite, admin, console_for):
    import http.server
    import threading

    received: list[bytes] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the standard library's name
            received.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tag = uuid.uuid4().hex[:6]
    person = console_for()
    page = person.sign_in(suite.admin_email, suite.admin_password)
    page.wait_for_url("**/")
    try:
        page.get_by_role("link", name="Administration").click()
        page.get_by_role("link", name="API keys").click()
        page.get_by_role("button", name="Create key").click()  # no name, no role: said beside the fields
        expect(page.locator("#e-name")).to_be_visible()
        expect(page.locator("#e-roles")).to_be_visible()
        page.fill("#f-name", f"ERP {tag}")
        page.check("input[name=roles][value=integration]")
        page.get_by_role("button", name="Create key").click()
        expect(page.locator("#secret")).to_be_visible()
        secret = page.inner_text("#secret")
        expect(page.locator("main")).to_contain_text("shown this once")
        assert suite.get("/api/v1/leads", params={"limit": 1}, headers={"X-API-Key": secret}).status_code == 200
        page.get_by_role("link", name="Done").click()
        row = page.locator("table.list tr", has_text=f"ERP {tag}")
        expect(row).to_have_count(1)
        assert secret not in page.content()  # never shown again
        page.once("dialog", lambda dialog: dialog.accept())
        row.get_by_role("button", name="Revoke").click()
        expect(page.locator(".flash")).to_contain_text("revoked")
        # at once in the gateway worker that revoked it, in the others within CRM_API_KEY_CACHE seconds
        eventually(lambda: suite.get("/api/v1/leads", params={"limit": 1}, headers={"X-API-Key": secret}).status_code,
                   until=lambda status: status == 401, timeout=20)

        page.get_by_role("link", name="Webhooks").click()
        page.fill("#f-url", f"http://127.0.0.1:{server.server_port}/hook-{tag}")
        page.fill("#f-events", "sales.lead_created.v1")
        page.get_by_role("button", name="Create webhook").click()
        expect(page.locator("#secret")).to_have_text(re.compile("^whsec_"))
        page.get_by_role("link", name="Done").click()
        page.get_by_role("button", name="Send a test ping").click()
        expect(page.locator(".flash")).to_contain_text("Test ping sent")
        for _ in range(50):  # the ping reaches the receiver and the delivery log
            if received and "Delivered" in page.inner_text("#deliveries"):
                break
            page.wait_for_timeout(300)
            page.reload()
        assert received and "Delivered" in page.inner_text("#deliveries")
        assert b"integration.webhook_test.v1" in received[0]
        person.shot("admin-webhook-en")
        assert person.serious_violations() == []

        page.get_by_role("link", name="Workflows").click()
        item = page.locator("ul.templates li", has_text="Contract ending: a renewal opportunity")
        item.get_by_role("button", name="Switch on").click()
        expect(page.locator(".flash")).to_contain_text("Template switched on.")
        flow = next(f for f in admin.get("/api/v1/workflows", params={"limit": 200}).json()["items"]
                    if f.get("template") == "contract_renewal")
        assert flow["active"] is True
        item = page.locator("ul.templates li", has_text="Contract ending: a renewal opportunity")
        item.get_by_role("link", name="Run log").click()
        expect(page.get_by_role("heading", name="Run log")).to_be_visible()
        page.get_by_role("link", name="Workflows").click()
        page.locator("ul.templates li", has_text="Contract ending: a renewal opportunity").get_by_role(
            "button", name="Switch off").click()
        expect(page.locator(".flash")).to_contain_text("Template switched off.")
        assert admin.get(f"/api/v1/workflows/{flow['id']}").json()["active"] is False
        page.get_by_role("button", name="简体中文").click()
        expect(page.get_by_role("heading", name="工作流", exact=True)).to_be_visible()
        person.shot("admin-workflows-zh")
        assert not person.csp_errors, person.csp_errors
    finally:
        server.shutdown()
