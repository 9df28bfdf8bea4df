"""Lists in a real browser: saved views kept per user (across sign-outs, never shown to anyone else), bulk edit
of the ticked rows (owner, status, stage; a row changed meanwhile is left as it is and said), and the XLSX
export of accounts, contacts, opportunities and tickets as each list is filtered."""
from __future__ import annotations

import io
import re
import uuid

import openpyxl
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def _rows_of_download(page, link_name="Export to Excel") -> list[tuple]:
    with page.expect_download() as downloaded:
        page.get_by_role("link", name=link_name).click()
    assert downloaded.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(open(downloaded.value.path(), "rb").read())).active
    return list(sheet.iter_rows(values_only=True))


def test_a_manager_saves_a_view_and_changes_owner_status_and_stage_of_the_ticked_rows(suite, admin, console_for):
    tag = uuid.uuid4().hex[:6]
    team = admin.post("/api/v1/teams", json={"name": f"Bulk {tag}"}).json()
    manager = admin.create_user(["sales_manager"], team_id=team["id"], full_name=f"Manager {tag}")
    rep = admin.create_user(["sales_rep"], team_id=team["id"], full_name=f"Rep {tag}")
    boss = suite.login(manager["email"], manager["password"])
    leads = [boss.post("/api/v1/leads", json={"first_name": name, "last_name": "Bulk", "company": f"Bulk {tag}",
                                              "email": f"{name.lower()}.{tag}@example.cn", "force": True}).json()
             for name in ("An", "Bo", "Ci")]
    deals = [boss.post("/api/v1/opportunities", json={"name": f"Deal {tag} {n}", "amount": "1000.00",
                                                      "currency": "CNY", "stage": "prospecting"}).json()
             for n in (1, 2)]

    person = console_for()
    page = person.sign_in(manager["email"], manager["password"])
    page.wait_for_url("**/")
    page.get_by_role("link", name="Leads", exact=True).click()
    page.fill("#q", f"Bulk {tag}")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#lead-rows a[download]")).to_have_attribute("href", re.compile(f"q=Bulk\\+{tag}"))
    expect(page.locator("#lead-rows tbody tr")).to_have_count(3)
    page.wait_for_load_state("networkidle")
    page.fill("#view-name", f"Bulk {tag}")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator(".flash")).to_contain_text(f"View “Bulk {tag}” saved.")
    person.go("/leads/")
    page.get_by_role("link", name=f"Bulk {tag}", exact=True).click()  # the view: its filters again
    expect(page.locator("#lead-rows tbody tr")).to_have_count(3)
    assert page.input_value("#q") == f"Bulk {tag}"

    for lead in leads[:2]:
        page.check(f"input[name=pick][value^='{lead['id']}:']")
    page.select_option("#bulk-set-leads", label=f"Owner: Rep {tag}")
    page.get_by_role("button", name="Change the ticked rows").click()
    expect(page.locator("main")).to_contain_text("2 records changed.")
    assert [boss.get(f"/api/v1/leads/{lead['id']}").json()["owner_id"] for lead in leads] == [
        rep["id"], rep["id"], manager["id"]]

    # a row someone else changed after the page was shown is left as it is, and said
    third = boss.get(f"/api/v1/leads/{leads[2]['id']}")
    page.check(f"input[name=pick][value^='{leads[2]['id']}:']")
    assert boss.patch(f"/api/v1/leads/{leads[2]['id']}", json={"title": "CTO"},
                      headers={"If-Match": third.headers["ETag"]}).status_code == 200
    page.check(f"input[name=pick][value^='{leads[0]['id']}:']")
    page.select_option("#bulk-set-leads", label="Status: Contacted")
    page.get_by_role("button", name="Change the ticked rows").click()
    expect(page.locator("main")).to_contain_text("1 record changed.")
    expect(page.locator("main")).to_contain_text("1 record not changed: changed by someone else meanwhile")
    assert boss.get(f"/api/v1/leads/{leads[0]['id']}").json()["status"] == "contacted"
    assert boss.get(f"/api/v1/leads/{leads[2]['id']}").json()["status"] == "new"
    person.shot("lists-leads-bulk-en")
    assert person.serious_violations() == []

    page.get_by_role("link", name="Opportunities").click()
    page.get_by_role("link", name="Show as a list").click()
    page.fill("#q", f"Deal {tag}")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.list tbody tr")).to_have_count(2)
    page.check(f"input[name=pick][value^='{deals[0]['id']}:']")
    page.select_option("#bulk-set-opportunities", label="Stage: Negotiation")
    page.get_by_role("button", name="Change the ticked rows").click()
    expect(page.locator("main")).to_contain_text("1 record changed.")
    assert boss.get(f"/api/v1/opportunities/{deals[0]['id']}").json()["stage"] == "negotiation"
    rows = _rows_of_download(page)
    assert rows[0][:3] == ("name", "stage", "amount") and len(rows) == 3
    assert {r[0]: r[1] for r in rows[1:]} == {f"Deal {tag} 1": "negotiation", f"Deal {tag} 2": "prospecting"}
    assert {r[2] for r in rows[1:]} == {1000}  # money as a number in the sheet

    page.get_by_role("button", name="Sign out").click()  # the views stay the user's, across sign-outs
    page = person.sign_in(manager["email"], manager["password"])
    page.wait_for_url("**/")
    person.go("/leads/")
    expect(page.get_by_role("link", name=f"Bulk {tag}", exact=True)).to_have_count(1)
    page.get_by_role("button", name="简体中文").click()
    expect(page.get_by_role("button", name="保存视图")).to_be_visible()
    person.shot("lists-leads-zh")
    page.get_by_role("button", name=f"删除视图 Bulk {tag}").click()
    expect(page.locator(".flash")).to_contain_text("视图已删除。")
    expect(page.get_by_role("link", name=f"Bulk {tag}", exact=True)).to_have_count(0)
    assert not person.csp_errors, person.csp_errors

    stranger = console_for()
    page = stranger.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    stranger.go("/leads/")
    expect(page.get_by_role("link", name=f"Bulk {tag}", exact=True)).to_have_count(0)  # never someone else's
    expect(page.locator("#bulk-set-leads option", has_text="Owner:")).to_have_count(0)  # a rep may not assign


def test_accounts_contacts_and_tickets_export_to_xlsx_as_filtered(suite, admin, console_for):
    tag = uuid.uuid4().hex[:6]
    account = admin.post("/api/v1/accounts", json={"name": f"导出 {tag}", "country": "CN"}).json()
    admin.post("/api/v1/accounts", json={"name": f"Other {uuid.uuid4().hex[:6]}"})
    contact = admin.post("/api/v1/contacts", json={"account_id": account["id"], "first_name": "Mei",
                                                   "last_name": f"Exp{tag}", "email": f"mei.{tag}@example.cn"}).json()
    ticket = admin.post("/api/v1/tickets", json={"subject": f"=SUM(1) export {tag}", "description": "x",
                                                 "requester_email": f"mei.{tag}@example.cn"}).json()
    person = console_for()
    page = person.sign_in(suite.admin_email, suite.admin_password)
    page.wait_for_url("**/")
    person.go(f"/accounts/?q={tag}")
    rows = _rows_of_download(page)
    assert rows[0][0] == "name" and [r[0] for r in rows[1:]] == [account["name"]]
    person.go(f"/contacts/?q=Exp{tag}")
    rows = _rows_of_download(page)
    assert [(r[1], r[3]) for r in rows[1:]] == [(f"Exp{tag}", contact["email"])]
    person.go(f"/tickets/?q=export+{tag}")
    rows = _rows_of_download(page)
    assert rows[0][:2] == ("number", "subject") and [r[0] for r in rows[1:]] == [ticket["number"]]
    assert rows[1][1].startswith("'=SUM")  # a formula from user data stays text
    page.check(f"input[name=pick][value^='{ticket['id']}:']")  # the queue's bulk edit: status
    page.select_option("#bulk-set-tickets", label="Status: Pending")
    page.get_by_role("button", name="Change the ticked rows").click()
    expect(page.locator("main")).to_contain_text("1 record changed.")
    assert admin.get(f"/api/v1/tickets/{ticket['id']}").json()["status"] == "pending"
    assert page.input_value("#q") == f"export {tag}"  # back on the queue as it was filtered
    assert person.serious_violations() == []
