"""Web console benchmark (issue 17), figures printed, nothing asserted.

The whole suite on PostgreSQL (bench_sales_common.running_suite), BENCH_CONSOLE_LEADS leads (default 200) and
BENCH_CONSOLE_DEALS opportunities (default 250: the board's first five columns full, 50 cards each), then each
console page (BENCH_CONSOLE_PAGES: names, comma-separated; default all) fetched BENCH_CONSOLE_CALLS times
(default 40) by a signed-in administrator over HTTP: p50 and p99 of the page's HTML (target p50 <= 150 ms).
Baselines in the same run, with a bearer token: GET /api/v1/leads?limit=25 (the ratio is the console's own
cost), and the board's six column calls side by side (the board's share that is the API's).
Also the JS + CSS a page loads, gzip-compressed (target <= 100 KB).
"""
from __future__ import annotations

import gzip
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile  # noqa: E402
from bench_sales_common import ADMIN_EMAIL, ADMIN_PASSWORD, lead_row, running_suite  # noqa: E402

LEADS = int(os.environ.get("BENCH_CONSOLE_LEADS", "200"))
DEALS = int(os.environ.get("BENCH_CONSOLE_DEALS", "250"))
DEAL_STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won")
CALLS = int(os.environ.get("BENCH_CONSOLE_CALLS", "40"))
ONLY = {name.strip() for name in os.environ.get("BENCH_CONSOLE_PAGES", "").split(",") if name.strip()}
BOARD_STAGES = DEAL_STAGES + ("closed_lost",)
PAGES = (("home", "/"), ("leads", "/leads/"), ("leads filtered", "/leads/?status=new&sort=-score"),
         ("new lead", "/leads/new"), ("deals board", "/deals/"), ("tickets", "/tickets/"), ("login", "/login"),
         ("accounts", "/accounts/"), ("contacts", "/contacts/"), ("calendar week", "/calendar/"),
         ("quotes", "/quotes/"), ("orders", "/orders/"), ("contracts", "/contracts/"), ("campaigns", "/campaigns/"),
         ("reports and dashboards", "/analytics/"), ("admin users", "/admin/users/"),
         ("opportunities list", "/deals/list"), ("new quote", "/quotes/new"), ("segments", "/segments/"),
         ("email templates", "/templates/"), ("admin API keys", "/admin/api-keys/"),
         ("admin webhooks", "/admin/webhooks/"), ("admin workflows", "/admin/workflows/"),
         ("admin audit trail", "/admin/audit/"), ("menu unread badge", "/notifications/unread"))


def timed(get, path: str) -> list[float]:
    get(path)  # warm
    out = []
    for _ in range(CALLS):
        began = time.perf_counter()
        response = get(path)
        out.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return out


def assets_size(browser: requests.Session, base: str, html: str) -> int:
    total = 0
    for url in set(re.findall(r'(?:src|href)="(/console-static/[^"]+\.(?:js|css))"', html)):
        total += len(gzip.compress(browser.get(base + url).content, 6))
    return total


def main() -> None:
    with running_suite() as (suite, admin, _pg):
        base = f"http://127.0.0.1:{suite.port}"
        for i in range(LEADS):
            admin.post("/api/v1/leads", json={**lead_row(i, "console"), "force": True})
        account = admin.post("/api/v1/accounts", json={"name": "Bench console account"}).json()
        for i in range(DEALS):
            made = admin.post("/api/v1/opportunities", json={
                "name": f"Deal {i}", "account_id": account["id"], "amount": f"{1000 + i * 37}.50", "currency": "CNY",
                "stage": DEAL_STAGES[i % len(DEAL_STAGES)]})
            assert made.status_code == 201, made.text
        browser = requests.Session()
        login = browser.get(base + "/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
        signed = browser.post(base + "/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                                     "csrf_token": token})
        assert signed.status_code == 200 and "/login" not in signed.url, signed.status_code
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {admin.token}"
        baseline = timed(lambda p: api.get(base + p), "/api/v1/leads?limit=25&sort=-created_at")
        b50 = percentile(baseline, 50)
        print(f"{LEADS} leads, {DEALS} opportunities, {CALLS} calls a page; baseline API GET /api/v1/leads?limit=25: "
              f"p50 {b50:.1f} ms p99 {percentile(baseline, 99):.1f} ms")
        with ThreadPoolExecutor(len(BOARD_STAGES)) as pool:
            column = "/api/v1/opportunities?limit=50&sort=-updated_at&stage="
            board = timed(lambda p: list(pool.map(lambda stage: api.get(base + p + stage), BOARD_STAGES))[-1], column)
        print(f"  the board's {len(BOARD_STAGES)} column API calls side by side: p50 {percentile(board, 50):.1f} ms "
              f"p99 {percentile(board, 99):.1f} ms")
        for name, path in PAGES:
            if ONLY and name not in ONLY:
                continue
            latencies = timed(lambda p: browser.get(base + p), path)
            p50 = percentile(latencies, 50)
            size = assets_size(browser, base, browser.get(base + path).text)
            print(f"  {name:<22} p50 {p50:6.1f} ms (target <= 150, x{p50 / b50:.1f} the API call) "
                  f"p99 {percentile(latencies, 99):6.1f} ms  JS+CSS {size / 1024:.1f} KB gzip (target <= 100)")


if __name__ == "__main__":
    main()
