"""Leads in and out in a real browser: a CSV import as a job with its progress and per-row errors, the list
exported to XLSX in the user's time zone, and the board's column totals from the server."""
from __future__ import annotations

import io
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from playwright.sync_api import expect

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_rep_imports_leads_sees_the_refused_row_and_exports_the_list(suite, admin, console_for):
    rep = admin.create_user(["sales_rep"], full_name="Deng Hui")
    client = suite.login(rep["email"], rep["password"])
    tag = uuid.uuid4().hex[:6]
    csv_text = ("first_name,last_name,company,email,country\n"
                f"Lan,Zhou,Imp {tag},lan.{tag}@example.cn,CN\n"
                f"Bo,Xu,Imp {tag},not-an-email,CN\n"
                f"=HYPERLINK(\"x\"),Wu,Imp {tag},wu.{tag}@example.cn,CN\n")

    person = console_for()
    page = person.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    page.get_by_role("link", name="Deng Hui").click()  # the name in the header: the preferences
    page.select_option("#f-timezone", "Asia/Shanghai")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_contain_text("Times are now shown in Asia/Shanghai.")

    page.get_by_role("link", name="Leads", exact=True).click()
    page.get_by_role("link", name="Import CSV").click()
    page.click("form[enctype] button.primary")  # no file chosen: said beside the field, nothing sent
    expect(page.locator("#e-file")).to_have_text("Choose a CSV file.")
    page.set_input_files("#f-file", files=[{"name": "leads.csv", "mimeType": "text/csv",
                                            "buffer": csv_text.encode("utf-8")}])
    page.click("form[enctype] button.primary")
    page.wait_for_selector("#job[data-status='done']", timeout=30000)  # htmx polls until the job ends
    expect(page.locator("#job")).to_contain_text("3 of 3 rows: 2 imported, 1 refused.")
    assert page.locator("#job-progress").get_attribute("value") == "3"
    expect(page.locator("#job-errors tbody tr")).to_have_count(1)
    refused = page.inner_text("#job-errors tbody")
    assert refused.split("\t")[:2] == ["2", "email"]  # the second row of data, its field and the API's message
    person.shot("lead-import-en")

    page.get_by_role("link", name="Back to the leads").click()
    page.fill("#q", f"Imp {tag}")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_function("document.querySelectorAll('#lead-rows tbody tr').length == 2")
    made = client.get("/api/v1/leads", params={"q": f"Imp {tag}", "sort": "-created_at"}).json()["items"]
    local = datetime.fromisoformat(made[0]["created_at"].replace("Z", "+00:00")).astimezone(SHANGHAI)
    expect(page.locator("#lead-rows tbody tr").first).to_contain_text(f"{local.hour % 12 or 12}:{local.minute:02d}")

    with page.expect_download() as downloaded:
        page.get_by_role("link", name="Export to Excel").click()
    assert downloaded.value.suggested_filename.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(open(downloaded.value.path(), "rb").read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("first_name", "last_name", "company", "email") and len(rows) == 3
    assert {r[3] for r in rows[1:]} == {f"lan.{tag}@example.cn", f"wu.{tag}@example.cn"}
    assert any(str(r[0]).startswith("'=HYPERLINK") for r in rows[1:])  # a formula from the file stays text
    first = next(r for r in rows[1:] if r[3] == made[0]["email"])
    assert first[9] == local.replace(tzinfo=None, microsecond=first[9].microsecond)  # the user's time zone
    assert not person.csp_errors, person.csp_errors


def test_the_board_shows_each_columns_total_from_the_server(suite, admin, console_for):
    rep = admin.create_user(["sales_rep"])
    client = suite.login(rep["email"], rep["password"])
    for amount in ("1000.00", "2000.00"):
        assert client.post("/api/v1/opportunities", json={"name": f"Column {uuid.uuid4().hex[:6]}", "amount": amount,
                                                          "currency": "CNY", "stage": "proposal"}).status_code == 201
    eventually(lambda: client.get("/api/v1/analytics/pipeline").json()["items"],
               until=lambda items: sum(i["count"] for i in items if i["stage"] == "proposal") == 2)
    person = console_for()
    page = person.sign_in(rep["email"], rep["password"])
    page.wait_for_url("**/")
    page.get_by_role("link", name="Opportunities").click()
    total = page.locator(".column[data-stage='proposal'] .total[data-count]")  # filled in once the board shows
    expect(total).to_have_attribute("data-count", "2")
    expect(total).to_have_text("2 deals · CN¥3,000.00")
    expect(page.locator(".column[data-stage='negotiation'] .total")).to_have_text("")  # nothing there: no total
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator(".column[data-stage='proposal'] .total[data-count]")).to_have_text("2 个销售机会 · ¥3,000.00")
