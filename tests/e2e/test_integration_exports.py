"""Bulk export through the gateway as two roles meet it: a rep exports leads and gets their own only, an
administrator gets everyone's, as NDJSON and as CSV (formulas guarded), as a job with its progress, downloaded
once done; a role that may not read the list is refused and nothing is queued; another user cannot see or
download someone's export."""
from __future__ import annotations

import csv
import io
import json
import uuid

import pytest

from crm_common.testing.waiting import eventually

pytestmark = pytest.mark.e2e


def finished(client, location):
    """The export once it has ended (done or failed), polled as a client would."""
    return eventually(lambda: client.get(location).json(), timeout=30,
                      until=lambda job: job.get("status") in ("done", "failed"))


def test_a_rep_exports_only_their_leads_an_admin_everyones(admin):
    rep, other = admin.as_new_user(["sales_rep"]), admin.as_new_user(["sales_rep"])
    industry = f"Export {uuid.uuid4().hex[:8]}"
    mine = [rep.post("/api/v1/leads", json={"last_name": f"Mine{i}", "company": "Mine Ltd", "industry": industry})
            for i in range(3)]
    theirs = other.post("/api/v1/leads", json={"last_name": "=HYPERLINK(\"http://x\")", "company": "Theirs Ltd",
                                                "industry": industry})
    assert all(r.status_code == 201 for r in [*mine, theirs]), [r.text for r in [*mine, theirs]]

    asked = rep.post("/api/v1/exports", json={"resource": "leads", "filters": {"industry": industry}})
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "queued"
    job = finished(rep, asked.headers["Location"])
    assert (job["status"], job["processed"], job["result"]["rows"], job["result"]["format"]) == ("done", 3, 3, "ndjson")
    got = rep.get(f"{asked.headers['Location']}/download")
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in got.text.splitlines()]
    assert sorted(row["id"] for row in rows) == sorted(r.json()["id"] for r in mine)
    assert {row["last_name"] for row in rows} == {"Mine0", "Mine1", "Mine2"}

    # another user neither sees nor downloads it (404), even a rep of the same role
    assert other.get(asked.headers["Location"]).status_code == 404
    assert other.get(f"{asked.headers['Location']}/download").status_code == 404

    everyone = admin.post("/api/v1/exports", json={"resource": "leads", "format": "csv",
                                                   "filters": {"industry": industry, "sort": "last_name"}})
    assert everyone.status_code == 202, everyone.text
    assert finished(admin, everyone.headers["Location"])["result"]["rows"] == 4
    sheet = admin.get(f"{everyone.headers['Location']}/download")
    assert sheet.status_code == 200 and sheet.headers["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(sheet.text)))
    assert [row["last_name"] for row in table] == ["'=HYPERLINK(\"http://x\")", "Mine0", "Mine1", "Mine2"]
    assert table[0]["id"] == theirs.json()["id"] and table[0]["industry"] == industry


def test_a_role_that_may_not_read_the_list_is_refused_and_bad_asks_are_422(admin):
    agent = admin.as_new_user(["support_agent"])
    refused = agent.post("/api/v1/exports", json={"resource": "leads"})
    assert refused.status_code == 403, refused.text
    assert refused.headers["Content-Type"].startswith("application/problem+json")

    unknown = agent.post("/api/v1/exports", json={"resource": "invoices"})
    assert unknown.status_code == 422 and "resource" in unknown.json()["errors"]
    bad_filter = admin.post("/api/v1/exports", json={"resource": "leads", "filters": {"status": "sleeping"}})
    assert bad_filter.status_code == 422 and "filters.status" in bad_filter.json()["errors"]
    bad_format = admin.post("/api/v1/exports", json={"resource": "leads", "format": "xls"})
    assert bad_format.status_code == 422 and "format" in bad_format.json()["errors"]

    # what the agent may read, they export: tickets
    ticket = agent.post("/api/v1/tickets", json={"subject": "Export me", "requester_email": "ada@example.com"})
    assert ticket.status_code == 201, ticket.text
    asked = agent.post("/api/v1/exports", json={"resource": "tickets"})
    assert asked.status_code == 202, asked.text
    job = finished(agent, asked.headers["Location"])
    assert job["status"] == "done", job
    rows = [json.loads(line) for line in agent.get(f"{asked.headers['Location']}/download").text.splitlines()]
    assert ticket.json()["id"] in {row["id"] for row in rows}
